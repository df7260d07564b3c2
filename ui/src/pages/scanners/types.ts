// The scanner pages' names for the API's shapes, read from the operations that return them.
import type { ItemOf, Ok } from '../../api/types';

export type Scanner = Ok<'/api/v1/scanners/{id}', 'get'>;
export type ProvisioningToken = ItemOf<Ok<'/api/v1/scanners/tokens', 'get'>>;
export type NewProvisioningToken = Ok<'/api/v1/scanners/tokens', 'post', 201>;
export type NewKey = Ok<'/api/v1/scanners/{id}/rotate-key', 'post'>;
export type MetricsSeries = Ok<'/api/v1/scanners/{id}/metrics', 'get'>;
export type MetricsPoint = MetricsSeries['points'][number];
export type Connection = ItemOf<Ok<'/api/v1/scanners/{id}/connections', 'get'>>;
export type ScannerGroup = Ok<'/api/v1/scanner-groups/{id}', 'get'>;
export type FleetHealth = Ok<'/api/v1/scanners/health', 'get'>;
export type InstallInfo = Ok<'/api/v1/scanners/install', 'get'>;

/** Bytes as KiB, MiB, GiB… */
export function bytes(n: number | null | undefined): string {
  if (n == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** A rate in bytes per second. */
export function rate(n: number | null | undefined): string {
  return n == null ? '—' : bytes(n) + '/s';
}

export function percent(n: number | null | undefined): string {
  return n == null ? '—' : `${n.toFixed(n < 10 ? 1 : 0)}%`;
}

export function statusClass(status: string): string {
  return status === 'online' ? 'badge ok' : status === 'offline' ? 'badge warn' : 'badge';
}
