import type { components } from '../../api/schema';

export type Finding = components['schemas']['findings.Finding'];
export type FindingEvent = components['schemas']['findings.Event'];
export type Baseline = components['schemas']['findings.Baseline'];

export const FINDING_STATES = ['open', 'accepted', 'risk', 'closed'] as const;
export const RISK_SEVERITIES = ['info', 'warning', 'minor', 'major', 'critical'] as const;

export function stateBadge(state: string): string {
  return state === 'open' ? 'badge warn' : state === 'risk' ? 'badge bad' : state === 'accepted' ? 'badge ok' : 'badge';
}
