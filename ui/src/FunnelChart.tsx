// A workflow's email funnel per day as lines in plain SVG: sent, opened, clicked, converted.
// Every day of the range is on the axis (days without email count 0); the days with email have
// a point each, named by data-series, data-date and data-value for tests and a title for
// people. Sizes are SVG attributes and colours CSS classes: nothing from data becomes markup
// or a style string. Drawn at the width of its box (a ResizeObserver), so text keeps its size
// on a phone.
import { useEffect, useRef, useState } from "react";
import type { RefObject } from "react";
import { t } from "./i18n";

export const STAGES = ["sent", "opened", "clicked", "converted"] as const;
export type Stage = (typeof STAGES)[number];
export type Day = Record<Stage, number> & { date: string };

const HEIGHT = 220;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };

// Every date from `from` to `to` (YYYY-MM-DD, both included), in UTC.
export function daysBetween(from: string, to: string): string[] {
  const found: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= end && found.length < 400; at += 86_400_000) {
    found.push(new Date(at).toISOString().slice(0, 10));
  }
  return found;
}

// A round top for the axis: 1, 2, 5 or 10 times a power of ten, at least `max`.
function roundUp(max: number): number {
  if (max <= 4) return Math.max(1, max);
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= max) as number;
}

function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    if (!box.current) return;
    const watcher = new ResizeObserver(([entry]) => setWidth(Math.max(240, Math.floor(entry.contentRect.width))));
    watcher.observe(box.current);
    return () => watcher.disconnect();
  }, []);
  return [box, width];
}

export function FunnelChart({ days, from, to, label }: { days: Day[]; from: string; to: string; label: string }) {
  const [box, width] = useWidth();
  const dates = daysBetween(from, to);
  const byDate = new Map(days.map((d) => [d.date, d]));
  const top = roundUp(Math.max(0, ...days.map((d) => d.sent)));
  const inner = { w: width - PAD.left - PAD.right, h: HEIGHT - PAD.top - PAD.bottom };
  const x = (i: number) => PAD.left + (dates.length > 1 ? (i * inner.w) / (dates.length - 1) : inner.w / 2);
  const y = (v: number) => PAD.top + inner.h - (v / top) * inner.h;
  const ticks = Math.min(dates.length, Math.max(2, Math.floor(inner.w / 90)));
  const shown = new Set(Array.from({ length: ticks }, (_, k) => Math.round((k * (dates.length - 1)) / Math.max(1, ticks - 1))));
  return (
    <div className="chart" ref={box}>
      <svg width={width} height={HEIGHT} role="img" aria-label={label} data-chart>
        {[0, top / 2, top].map((v) => (
          <g key={v} className="grid">
            <line x1={PAD.left} x2={width - PAD.right} y1={y(v)} y2={y(v)} />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end">{Number.isInteger(v) ? v : v.toFixed(1)}</text>
          </g>
        ))}
        {dates.map((d, i) => (shown.has(i) ? (
          <text key={d} className="axis" x={x(i)} y={HEIGHT - 8} textAnchor={i === 0 ? "start" : i === dates.length - 1 ? "end" : "middle"}>{d.slice(5)}</text>
        ) : null))}
        {STAGES.map((stage) => (
          <g key={stage} className={`series ${stage}`} data-series-line={stage}>
            <polyline points={dates.map((d, i) => `${x(i)},${y(byDate.get(d)?.[stage] || 0)}`).join(" ")} />
            {dates.map((d, i) => {
              const day = byDate.get(d);
              if (!day) return null;
              return (
                <circle key={d} cx={x(i)} cy={y(day[stage])} r={3.5} data-series={stage} data-date={d} data-value={day[stage]}>
                  <title>{`${d} · ${t.reports.stages[stage]}: ${day[stage]}`}</title>
                </circle>
              );
            })}
          </g>
        ))}
      </svg>
      <ul className="legend">
        {STAGES.map((stage) => <li key={stage} className={stage}><span className="swatch" />{t.reports.stages[stage]}</li>)}
      </ul>
    </div>
  );
}
