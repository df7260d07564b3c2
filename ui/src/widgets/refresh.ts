/** How widgets refresh: often enough for a wall screen, rarely enough for many of them at once. */
export const WIDGET_REFRESH_MS = 30_000;
