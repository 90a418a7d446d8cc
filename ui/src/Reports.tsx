// Reports for a date range (#/reports?from=YYYY-MM-DD&to=YYYY-MM-DD, both days included, UTC;
// by default the last 30 days): per workflow its email funnel per day as a chart (GET
// /api/v1/reports/funnel) and its conversions and revenue (GET /api/v1/reports/conversions).
import { useEffect, useState } from "react";
import { api } from "./api";
import { FunnelChart, STAGES, daysBetween } from "./FunnelChart";
import type { Day, Stage } from "./FunnelChart";
import { t } from "./i18n";

type Funnel = { workflow: string; totals: Record<Stage, number>; days: Day[] };
type Revenue = { workflow: string; currency: string; conversions: number; revenue: number };
type Found = { funnels: Funnel[]; revenue: Revenue[] };

const DAY = 86_400_000;
const isoDay = (at: number) => new Date(at).toISOString().slice(0, 10);

export function defaultRange(now = Date.now()): { from: string; to: string } {
  return { from: isoDay(now - 29 * DAY), to: isoDay(now) };
}

function percent(part: number, whole: number): string {
  return whole ? new Intl.NumberFormat(document.documentElement.lang, { style: "percent" }).format(part / whole) : "–";
}

async function load(from: string, to: string): Promise<Found> {
  const range = new URLSearchParams({ since: from, until: isoDay(Date.parse(`${to}T00:00:00Z`) + DAY) });
  const [funnel, conversions] = await Promise.all([
    api<{ workflows: Funnel[] }>(`/api/v1/reports/funnel?${range}`),
    api<{ workflows: Revenue[] }>(`/api/v1/reports/conversions?${range}`),
  ]);
  return { funnels: funnel.workflows, revenue: conversions.workflows };
}

export function Reports({ query }: { query: URLSearchParams }) {
  const fallback = defaultRange();
  const from = query.get("from") || fallback.from;
  const to = query.get("to") || fallback.to;
  const [edited, setEdited] = useState({ from, to });
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState("");
  const backwards = from > to;
  useEffect(() => {
    api<{ workflows: { key: string; name: string }[] }>("/api/v1/workflows").then(
      (w) => setNames(new Map(w.workflows.map((x) => [x.key, x.name]))), () => setNames(new Map()),
    );
  }, []);
  useEffect(() => {
    setFound(null);
    if (backwards) return;
    load(from, to).then((f) => { setFound(f); setError(""); }, (e: Error) => setError(e.message));
  }, [from, to]);
  const apply = () => { location.hash = `#/reports?${new URLSearchParams(edited)}`; };

  return (
    <main className="page reports">
      <h1>{t.reports.title}</h1>
      <form className="range" onSubmit={(e) => { e.preventDefault(); apply(); }}>
        <label className="field"><span className="label">{t.reports.from}</span>
          <input type="date" name="from" value={edited.from} max={edited.to} onChange={(e) => setEdited({ ...edited, from: e.target.value })} />
        </label>
        <label className="field"><span className="label">{t.reports.to}</span>
          <input type="date" name="to" value={edited.to} min={edited.from} onChange={(e) => setEdited({ ...edited, to: e.target.value })} />
        </label>
        <button type="submit" className="primary" data-action="apply-range">{t.reports.show}</button>
        <a href="#/reports" data-action="last-30-days">{t.reports.last30}</a>
      </form>
      <p className="help" data-range={`${from}/${to}`}>{t.reports.explain}</p>
      {backwards ? <p className="error" role="alert">{t.reports.backwards}</p> : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
      {backwards ? null : !found ? (error ? null : <p className="help">{t.loading}</p>) : !found.funnels.length ? (
        <p className="empty" data-empty>{t.reports.none}</p>
      ) : found.funnels.map((f) => (
        <WorkflowReport key={f.workflow} funnel={f} name={names.get(f.workflow) || f.workflow}
          revenue={found.revenue.filter((r) => r.workflow === f.workflow)} from={from} to={to} />
      ))}
    </main>
  );
}

function WorkflowReport({ funnel, name, revenue, from, to }: { funnel: Funnel; name: string; revenue: Revenue[]; from: string; to: string }) {
  const sent = funnel.totals.sent;
  return (
    <section className="panel workflow-report" data-report={funnel.workflow}>
      <h2><a href={`#/workflows/${encodeURIComponent(funnel.workflow)}`}>{name}</a> <span className="help">{funnel.workflow}</span></h2>
      <dl className="totals">
        {STAGES.map((stage) => (
          <div key={stage} className={stage} data-total={stage} data-value={funnel.totals[stage]}>
            <dt><span className="swatch" />{t.reports.stages[stage]}</dt>
            <dd>{funnel.totals[stage]}{stage === "sent" ? null : <span className="share"> · {percent(funnel.totals[stage], sent)}</span>}</dd>
          </div>
        ))}
      </dl>
      <FunnelChart days={funnel.days} from={from} to={to} label={`${name}: ${t.reports.chart}`} />
      {revenue.length ? (
        <p className="revenue" data-revenue>
          {t.reports.revenue}: {revenue.map((r) => `${r.revenue.toFixed(2)} ${r.currency} (${r.conversions} ${t.reports.conversions})`).join(" · ")}
        </p>
      ) : null}
      <details>
        <summary>{t.reports.asTable}</summary>
        <div className="table-wrap">
          <table className="rows" data-days>
            <thead><tr><th>{t.reports.day}</th>{STAGES.map((s) => <th key={s} className="number">{t.reports.stages[s]}</th>)}</tr></thead>
            <tbody>
              {daysBetween(from, to).flatMap((date) => {
                const day = funnel.days.find((d) => d.date === date);
                return day ? [<tr key={date} data-day={date}><td>{date}</td>{STAGES.map((s) => <td key={s} className="number">{day[s]}</td>)}</tr>] : [];
              })}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}
