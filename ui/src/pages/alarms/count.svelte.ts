// The open-alarm count in the navigation: polled while a user who may see alarms is signed in,
// and refreshed at once after an acknowledgement on any page.
import { api, call } from '../../api/client';

export const alarmCount = $state({ open: null as number | null });

export async function refreshAlarmCount(): Promise<void> {
  try {
    alarmCount.open = (await call(api.GET('/api/v1/alarms/summary'))).open;
  } catch {
    alarmCount.open = null;
  }
}
