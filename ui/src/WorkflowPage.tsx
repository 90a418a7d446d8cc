// One workflow, read: its graph with live counts for any version, its rules in words, its
// statistics by channel, the contacts on a step, and the lifecycle buttons its status allows.
import { useEffect, useRef, useState } from "react";
import { api } from "./api";
import { eventRule, reentry } from "./describe";
import { POLL_MS, usePolling } from "./poll";
import { ReadGraph, StepStat, channelFigures } from "./ReadGraph";
import type { RunCounts, ServerGraph } from "./ReadGraph";
import { t } from "./i18n";

type VersionInfo = { version: number; created_at: string; runs: number; current: boolean };
export type Detail = {
  key: string; name: string; status: string; version: number | null; versions: VersionInfo[];
  runs: RunCounts; document: any;
};
type Stats = { version: number | null; runs: RunCounts & { converted: number }; steps: StepStat[] };
type Verb = "activate" | "pause" | "stop";

// What each status allows: a draft or a stopped workflow can be activated, an active one
// paused or stopped, a paused one activated again or stopped.
export const VERBS: Record<string, Verb[]> = {
  draft: ["activate"],
  active: ["pause", "stop"],
  paused: ["activate", "stop"],
  stopped: ["activate"],
};

type Shown = { detail: Detail; graph: ServerGraph | null; stats: Map<string, StepStat>; overall: Stats["runs"] | null; doc: any };

export function WorkflowPage({ workflowKey }: { workflowKey: string }) {
  const [shown, setShown] = useState<Shown | null>(null);
  const [version, setVersion] = useState<number | null>(null); // null: the current one
  const [selected, setSelected] = useState<string | null>(null);
  const [updated, setUpdated] = useState("");
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const [round, setRound] = useState(0); // a new value starts polling anew (after an action)
  const [stopping, setStopping] = useState(false);
  const documents = useRef(new Map<number, any>());
  const base = `/api/v1/workflows/${encodeURIComponent(workflowKey)}`;

  const documentOf = async (detail: Detail, n: number) => {
    const known = documents.current.get(n);
    if (known) return known;
    const found = n === detail.version ? detail.document : (await api<{ document: any }>(`${base}/versions/${n}`)).document;
    documents.current.set(n, found);
    return found;
  };

  usePolling(async (alive) => {
    try {
      const detail = await api<Detail>(base);
      if (!alive()) return; // the page was left while it asked: ask nothing more
      const n = version ?? detail.version;
      if (n === null) {
        if (alive()) setShown({ detail, graph: null, stats: new Map(), overall: null, doc: null });
        return;
      }
      const [graph, stats, doc] = await Promise.all([
        api<ServerGraph>(`${base}/graph?version=${n}`),
        api<Stats>(`${base}/stats?version=${n}`),
        documentOf(detail, n),
      ]);
      if (!alive()) return;
      setShown({ detail, graph, doc, stats: new Map(stats.steps.map((s) => [s.id, s])), overall: stats.runs });
      setUpdated(new Date().toLocaleTimeString());
      setTick((x) => x + 1);
      setError("");
    } catch (e) {
      if (alive()) setError((e as Error).message);
      throw e;
    }
  }, POLL_MS, [workflowKey, version, round]);

  const act = async (verb: Verb) => {
    setStopping(false);
    try {
      await api(`${base}/${verb}`, "POST");
      setRound((x) => x + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (!shown) {
    return <main className="page"><p className={error ? "error" : "help"} role="status">{error || t.loading}</p></main>;
  }
  const { detail, graph, doc, stats, overall } = shown;
  const r = t.reading;
  const verbs = VERBS[detail.status] || [];
  return (
    <main className="page reading" data-workflow={detail.key}>
      <p><a href="#/workflows" data-action="all-workflows">{r.back}</a></p>
      <header className="reading-head">
        <h1>
          {detail.name} <span className={`chip status-${detail.status}`} data-status-of={detail.key} data-value={detail.status}>
            {t.workflows.statuses[detail.status] || detail.status}
          </span>
        </h1>
        <div className="buttons">
          <label className="inline version-pick">
            <span>{r.version}</span>
            <select name="version" data-action="version" value={graph?.version ?? ""} onChange={(e) => { setVersion(Number(e.target.value)); setSelected(null); }}>
              {[...detail.versions].reverse().map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}{v.current ? ` (${r.current})` : ""} · {v.runs} {r.runsOf}
                </option>
              ))}
            </select>
          </label>
          {verbs.map((verb) => (
            <button key={verb} type="button" data-action={verb} className={verb === "stop" ? "danger" : verb === "activate" ? "primary" : undefined}
              onClick={() => (verb === "stop" ? setStopping(true) : act(verb))}>
              {r[verb]}
            </button>
          ))}
          <a className="button" href={`#/edit/${encodeURIComponent(detail.key)}`} data-action="edit-workflow">{r.edit}</a>
        </div>
      </header>
      {stopping ? (
        <p className="confirm" role="alert">
          <button type="button" className="danger" data-action="confirm-stop" onClick={() => act("stop")}>{r.confirmStop}</button>
          <button type="button" data-action="cancel-stop" onClick={() => setStopping(false)}>{t.cancel}</button>
        </p>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
      {graph ? <Totals runs={graph.runs} converted={overall?.converted ?? 0} updated={updated} /> : null}
      <Rules doc={doc} />
      {graph ? (
        <div className={`reading-body${selected ? " with-side" : ""}`}>
          <section className="panel graph-panel">
            <ReadGraph graph={graph} doc={doc} stats={stats} selected={selected} onSelect={setSelected} />
            {!selected ? <p className="help">{r.clickStep}</p> : null}
          </section>
          {selected ? (
            <StepContacts key={`${graph.version}:${selected}`} base={base} step={selected} version={graph.version} tick={tick} onClose={() => setSelected(null)} />
          ) : null}
        </div>
      ) : null}
      {graph ? <StatsTable graph={graph} stats={stats} onSelect={setSelected} /> : null}
    </main>
  );
}

function Totals({ runs, converted, updated }: { runs: RunCounts; converted: number; updated: string }) {
  const r = t.reading.runs;
  const figures: [string, number][] = [
    ["entered", runs.entered], ["inside", runs.inside], ["completed", runs.completed],
    ["exited", runs.exited], ["failed", runs.failed], ["converted", converted],
  ];
  return (
    <p className="totals" data-totals>
      {figures.map(([name, value]) => <span key={name} data-total={name} data-value={value}><b>{value}</b> {r[name]}</span>)}
      <span className="help" data-updated>{t.reading.updated} {updated}</span>
    </p>
  );
}

function Rules({ doc }: { doc: any }) {
  const r = t.reading;
  if (!doc) return null;
  const rows: [string, string, string[]][] = [
    ["reentry", r.reentry, [reentry(doc.reentry)]],
    ["exit_when", r.exits, (doc.exit_when || []).map(eventRule)],
    ["restart_when", r.restarts, (doc.restart_when || []).map(eventRule)],
    ["goals", r.goals, (doc.goals || []).map(eventRule)],
  ];
  if (doc.allow_parallel_runs) rows.push(["allow_parallel_runs", r.parallel, [r.yes]]);
  if (doc.quiet_hours) rows.push(["quiet_hours", r.quiet, [`${doc.quiet_hours.from} – ${doc.quiet_hours.to}`]]);
  return (
    <section className="panel rules" data-rules>
      <h2>{r.rules}</h2>
      <dl>
        {rows.filter(([, , words]) => words.length).map(([name, label, words]) => (
          <div key={name} data-rule={name}>
            <dt>{label}</dt>
            {words.map((w, i) => <dd key={i}>{w}</dd>)}
          </div>
        ))}
      </dl>
    </section>
  );
}

function StatsTable({ graph, stats, onSelect }: { graph: ServerGraph; stats: Map<string, StepStat>; onSelect: (id: string) => void }) {
  const r = t.reading;
  const steps = graph.nodes.filter((n) => n.kind !== "end");
  return (
    <section className="panel">
      <h2>{r.stats}</h2>
      <div className="table-wrap">
        <table className="rows" data-stats>
          <thead>
            <tr><th>{r.step}</th><th className="number">{r.entered}</th><th className="number">{r.now}</th><th>{r.channel}</th></tr>
          </thead>
          <tbody>
            {steps.map((n) => (
              <tr key={n.id} data-stats-step={n.id}>
                <td><button type="button" className="link" onClick={() => onSelect(n.id)}>{n.id}</button><div className="help">{t.kinds[n.kind] || n.kind}</div></td>
                <td className="number">{n.entered}</td>
                <td className="number">{n.now}</td>
                <td className="figures-cell">
                  {channelFigures(n.kind, stats.get(n.id)).map((f) => <span key={f.name} data-figure={f.name}><b>{f.value}</b> {f.label}</span>)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

type StepContact = { contact_id: number; email: string | null; run_id: number; version: number; status: string; at: string; due_at: string | null };
type Page = { contacts: StepContact[]; count: number };

function StepContacts({ base, step, version, tick, onClose }: { base: string; step: string; version: number; tick: number; onClose: () => void }) {
  const r = t.reading;
  const [state, setState] = useState<"now" | "passed">("now");
  const [pages, setPages] = useState<Record<string, Page | null>>({ now: null, passed: null });
  const [error, setError] = useState("");
  const panel = useRef<HTMLElement>(null);
  // Below the graph (a narrow screen), the panel comes into view when a step is clicked.
  useEffect(() => {
    if (window.innerWidth <= 900) panel.current?.scrollIntoView({ block: "nearest" });
  }, [step]);
  // Anew with every round of the page's polling (tick), dropped when the panel closes.
  useEffect(() => {
    let alive = true;
    const path = (s: string) => `${base}/steps/${encodeURIComponent(step)}/contacts?state=${s}&version=${version}&limit=50`;
    Promise.all([api<Page>(path("now")), api<Page>(path("passed"))]).then(
      ([now, passed]) => alive && setPages({ now, passed }),
      (e: Error) => alive && setError(e.message),
    );
    return () => { alive = false; };
  }, [base, step, version, tick]);
  const page = pages[state];
  return (
    <aside className="panel step-contacts" data-step-contacts={step} ref={panel}>
      <header>
        <h2>{r.contactsTitle} <code>{step}</code></h2>
        <button type="button" className="link" data-action="close-contacts" onClick={onClose}>{r.close}</button>
      </header>
      <div className="tabs" role="tablist">
        {(["now", "passed"] as const).map((s) => (
          <button key={s} type="button" role="tab" aria-selected={state === s} data-state={s} onClick={() => setState(s)}>
            {s === "now" ? r.onNow : r.passed} <b data-state-count={s}>{pages[s]?.count ?? "…"}</b>
          </button>
        ))}
      </div>
      {error ? <p className="error">{error}</p> : null}
      {!page ? <p className="help">{t.loading}</p> : !page.contacts.length ? <p className="empty" data-no-contacts>{r.noContacts}</p> : (
        <ul className="plain contact-list" data-contacts-on={state}>
          {page.contacts.map((c) => (
            <li key={c.run_id} data-contact-id={c.contact_id}>
              <a href={`#/contacts/${c.contact_id}`} data-contact-link={c.email || c.contact_id}>{c.email || `#${c.contact_id}`}</a>
              <span className="help"> {state === "now" ? r.since : r.at} {c.at.replace("T", " ").slice(0, 16)} · v{c.version}</span>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
