// The alarm pages' names for the API's shapes, read from the operations that return them.
import type { ItemOf, Ok } from '../../api/types';

export type Alarm = ItemOf<Ok<'/api/v1/alarms', 'get'>>;
export type AlarmDetail = Ok<'/api/v1/alarms/{id}', 'get'>;
export type Transition = AlarmDetail['timeline'][number];
export type OpenCount = Ok<'/api/v1/alarms/summary', 'get'>;
export type Rule = Ok<'/api/v1/alarm-rules/{id}', 'get'>;
export type Snooze = ItemOf<Ok<'/api/v1/alarm-snoozes', 'get'>>;
export type Channel = Ok<'/api/v1/alarm-channels/{id}', 'get'>;
export type CreatedChannel = Ok<'/api/v1/alarm-channels', 'post', 201>;
export type TestResult = Ok<'/api/v1/alarm-channels/{id}/test', 'post'>;
export type Route = ItemOf<Ok<'/api/v1/alarm-routes', 'get'>>;
export type Delivery = ItemOf<Ok<'/api/v1/alarm-deliveries', 'get'>>;

/** Least to most urgent, as the API orders them. */
export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export const TRANSITIONS = ['opened', 'escalated', 'acknowledged', 'resolved'] as const;

/** The badge class of a severity: critical and major stand out. */
export function severityClass(s: string): string {
  if (s === 'critical' || s === 'major') return 'badge bad';
  if (s === 'minor' || s === 'warning') return 'badge warn';
  return 'badge';
}

export function stateClass(s: string): string {
  return s === 'open' ? 'badge bad' : s === 'acknowledged' ? 'badge warn' : 'badge ok';
}
