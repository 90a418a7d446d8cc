// A workflow's email funnel per day in plain SVG: for each day, four bars side by side (sent,
// opened, clicked, converted), so each day's funnel reads left to right and equal counts never
// hide one another as crossing lines would. Every day of the range has its place on the axis;
// the days with email have their bars, named by data-series, data-date and data-value for tests
// and a title for people. Sizes are SVG attributes and colours CSS classes: nothing from data becomes markup
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
  const slot = inner.w / Math.max(1, dates.length);
  const bar = Math.max(1.5, Math.min(14, (slot * 0.9) / STAGES.length));
  const x = (i: number) => PAD.left + i * slot;
  const y = (v: number) => PAD.top + inner.h - (v / top) * inner.h;
  const levels = top <= 4 ? Array.from({ length: top + 1 }, (_, v) => v) : [0, top / 2, top];
  const every = Math.max(1, Math.ceil(dates.length / Math.max(2, Math.floor(inner.w / 80))));
  return (
    <div className="chart" ref={box}>
      <svg width={width} height={HEIGHT} role="img" aria-label={label} data-chart data-days={dates.length}>
        {levels.map((v) => (
          <g key={v} className="grid">
            <line x1={PAD.left} x2={width - PAD.right} y1={y(v)} y2={y(v)} />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end">{v}</text>
          </g>
        ))}
        {dates.map((d, i) => (i % every === 0 ? (
          <text key={d} className="axis" x={x(i) + slot / 2} y={HEIGHT - 8} textAnchor="middle">{d.slice(5)}</text>
        ) : null))}
        {dates.map((d, i) => {
          const day = byDate.get(d);
          if (!day) return null;
          const left = x(i) + (slot - bar * STAGES.length) / 2;
          return (
            <g key={d} className="day">
              {STAGES.map((stage, k) => (
                <rect key={stage} className={stage} x={left + k * bar} y={y(day[stage])} width={bar}
                  height={y(0) - y(day[stage])} data-series={stage} data-date={d} data-value={day[stage]}>
                  <title>{`${d} · ${t.reports.stages[stage]}: ${day[stage]}`}</title>
                </rect>
              ))}
            </g>
          );
        })}
      </svg>
      <ul className="legend">
        {STAGES.map((stage) => <li key={stage} className={stage}><span className="swatch" />{t.reports.stages[stage]}</li>)}
      </ul>
    </div>
  );
}
