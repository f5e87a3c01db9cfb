// Events per minute over the last hour: an inline SVG bar chart. 60 rects are cheap to redraw, so
// it simply re-renders with the feed (at most once per frame) and scales to its container width.
import { clock, count } from '../lib/format.ts';

const W = 600;
const H = 120;
const PAD_TOP = 8;
const PAD_BOTTOM = 2;

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function MinuteChart({ points }: { points: [number, number][] }) {
  const max = niceMax(Math.max(0, ...points.map(([, c]) => c)));
  const bw = W / Math.max(1, points.length);
  const usable = H - PAD_TOP - PAD_BOTTOM;
  const total = points.reduce((s, [, c]) => s + c, 0);
  const last = points.length > 0 ? points[points.length - 1][1] : 0;
  return (
    <figure class="chart" aria-label={`events per minute, last hour: ${total} in total, ${last} this minute`}>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img">
        <line x1="0" x2={W} y1={PAD_TOP} y2={PAD_TOP} class="grid" />
        <line x1="0" x2={W} y1={PAD_TOP + usable / 2} y2={PAD_TOP + usable / 2} class="grid" />
        <line x1="0" x2={W} y1={H - PAD_BOTTOM} y2={H - PAD_BOTTOM} class="axis" />
        {points.map(([t, c], i) => {
          const h = c === 0 ? 0 : Math.max(1.5, (c / max) * usable);
          return (
            <rect key={t} x={i * bw + 0.5} y={H - PAD_BOTTOM - h} width={Math.max(1, bw - 1.5)} height={h} class={i === points.length - 1 ? 'bar now' : 'bar'}>
              <title>{`${clock(t)}: ${count(c)} events`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        <span>{points.length > 0 ? `${clock(points[0][0]).slice(0, 5)} → now` : ''} · scale {count(max)}/min</span>
        <span>
          {count(last)} this minute · {count(total)} in the last hour
        </span>
      </figcaption>
    </figure>
  );
}
