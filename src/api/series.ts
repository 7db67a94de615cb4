// GET /api/series?window=1h|6h|24h|7d: events received, and attempts delivered and failed, per
// time bucket over the window, for the dashboard's chart. The bucket grows with the window
// (60 s for 1h and 6h, 300 s for 24h, 3600 s for 7d: at most 360 points); every bucket is
// listed, the last one being the bucket of now, zeros where nothing happened.
import type { z } from 'zod';
import { jsonReply, type Reply } from '../errors.ts';
import type { ActivityCounter, SeriesWindow } from '../store/series.ts';
import type { seriesJson } from './schemas.ts';

export async function activitySeries(
  activity: ActivityCounter,
  window: SeriesWindow,
  now = Date.now(),
): Promise<Reply> {
  const series = await activity.series(window, now);
  return jsonReply(200, {
    bucket_s: series.bucketMs / 1000,
    data: series.data.map((b) => ({
      t: new Date(b.bucket).toISOString(),
      received: b.received,
      delivered: b.delivered,
      failed: b.failed,
    })),
  } satisfies z.output<typeof seriesJson>);
}
