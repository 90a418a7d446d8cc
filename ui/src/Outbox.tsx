// The outbox: every message the workflows made, filtered by status, channel, workflow and email
// (#/messages?status=&channel=&workflow=&email=&offset=, the parameters of GET /api/v1/messages), with
// why a message was suppressed or failed; and one message (#/messages/ID) with its email in a
// sandboxed frame, so that looking at it records no open and no click.
import { useEffect, useState } from "react";
import { api } from "./api";
import { PAGE_SIZE, Pager } from "./Contacts";
import { t } from "./i18n";

export type Message = {
  id: number; status: string; channel: string; sender: string; recipient: string | null;
  subject: string; workflow: string | null; step_id: string | null; run_id: number | null;
  contact_id: number | null; reason: string | null; attempts: number; created_at: string;
  sent_at: string | null; captured: boolean;
};
type Detail = Message & {
  idempotency_key: string; html: string; text: string | null; provider_id: string | null;
  headers: Record<string, unknown> | null; payload: Record<string, unknown> | null;
  tracking: { id: number; name: string; occurred_at: string; properties: Record<string, unknown> }[];
};

const STATUSES = ["queued", "sending", "sent", "failed", "suppressed"] as const;
const CHANNELS = ["email", "sms", "whatsapp", "webhook"] as const;
const FILTERS = ["status", "channel", "workflow", "email"] as const;

// The suppressions the steps name (steps/messages.py, steps/texts.py) in the catalogue's words;
// any other reason (a provider's error, retries given up) as the server recorded it.
function reasonText(reason: string | null): string {
  if (!reason) return "";
  return t.outbox.reasons[reason as keyof typeof t.outbox.reasons] || reason;
}

export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" }) : "";
}

// "captured" when no provider delivered it: the capture transport kept it, for nobody.
function shownStatus(m: Message): string {
  if (m.captured) return t.outbox.captured;
  return t.outbox.statuses[m.status as keyof typeof t.outbox.statuses] || m.status;
}

export function Outbox({ query }: { query: URLSearchParams }) {
  const [workflows, setWorkflows] = useState<{ key: string; name: string }[]>([]);
  const [found, setFound] = useState<{ messages: Message[]; count: number } | null>(null);
  const [error, setError] = useState("");
  const [email, setEmail] = useState(query.get("email") || "");
  const offset = Number(query.get("offset") || 0);
  useEffect(() => {
    api<{ workflows: { key: string; name: string }[] }>("/api/v1/workflows").then(
      (w) => setWorkflows(w.workflows), () => setWorkflows([]),
    );
  }, []);
  useEffect(() => {
    setFound(null);
    const params = new URLSearchParams();
    for (const f of FILTERS) if (query.get(f)) params.set(f, query.get(f) as string);
    params.set("limit", String(PAGE_SIZE));
    params.set("offset", String(offset));
    api<{ messages: Message[]; count: number }>(`/api/v1/messages?${params}`).then(
      (f) => { setFound(f); setError(""); },
      (e: Error) => setError(e.message),
    );
  }, [query.toString()]);

  const go = (change: (p: URLSearchParams) => void) => {
    const next = new URLSearchParams(query);
    next.delete("offset");
    change(next);
    location.hash = `#/messages?${next}`;
  };
  const choose = (name: string) => (e: { target: { value: string } }) =>
    go((p) => { if (e.target.value) p.set(name, e.target.value); else p.delete(name); });
  const filtered = FILTERS.some((f) => query.get(f));
  const anyCaptured = found?.messages.some((m) => m.captured);
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = found ? Math.max(1, Math.ceil(found.count / PAGE_SIZE)) : 1;
  // A workflow named in the address but gone from the list still shows as chosen.
  const known = workflows.some((w) => w.key === query.get("workflow"));

  return (
    <main className="page outbox">
      <h1>{t.outbox.title}</h1>
      <form className="query" onSubmit={(e) => { e.preventDefault(); choose("email")({ target: { value: email.trim() } }); }}>
        <label className="field"><span className="label">{t.outbox.status}</span>
          <select name="status" value={query.get("status") || ""} onChange={choose("status")}>
            <option value="">{t.outbox.anyStatus}</option>
            {STATUSES.map((s) => <option key={s} value={s}>{t.outbox.statuses[s]}</option>)}
          </select>
        </label>
        <label className="field"><span className="label">{t.outbox.channel}</span>
          <select name="channel" value={query.get("channel") || ""} onChange={choose("channel")}>
            <option value="">{t.outbox.anyChannel}</option>
            {CHANNELS.map((c) => <option key={c} value={c}>{t.outbox.channels[c]}</option>)}
          </select>
        </label>
        <label className="field"><span className="label">{t.outbox.workflow}</span>
          <select name="workflow" value={query.get("workflow") || ""} onChange={choose("workflow")}>
            <option value="">{t.outbox.anyWorkflow}</option>
            {workflows.map((w) => <option key={w.key} value={w.key}>{w.name} ({w.key})</option>)}
            {query.get("workflow") && !known ? <option value={query.get("workflow") as string}>{query.get("workflow")}</option> : null}
          </select>
        </label>
        <label className="field"><span className="label">{t.outbox.email}</span>
          <input name="email" type="search" value={email} placeholder={t.outbox.emailHint} onChange={(e) => setEmail(e.target.value)} />
        </label>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {!found ? <p className="help">{t.loading}</p> : (
        <>
          <p className="help" data-count={found.count}>{found.count} {t.outbox.found}</p>
          {anyCaptured ? <p className="note" data-captured-note>{t.outbox.capturedNote}</p> : null}
          {!found.messages.length ? (
            <p className="empty" data-empty>
              {filtered ? t.outbox.noMatch : t.outbox.none}
              {filtered ? <> <a href="#/messages" data-action="reset-filters">{t.outbox.reset}</a></> : null}
            </p>
          ) : <MessageTable messages={found.messages} />}
          <Pager page={page} pages={pages} onPage={(n) => go((p) => { if (n > 1) p.set("offset", String((n - 1) * PAGE_SIZE)); })} />
        </>
      )}
    </main>
  );
}

function MessageTable({ messages }: { messages: Message[] }) {
  return (
    <div className="table-wrap">
      <table className="rows messages" data-messages>
        <thead>
          <tr>
            <th>{t.outbox.time}</th>
            <th>{t.outbox.recipient}</th>
            <th>{t.outbox.subject}</th>
            <th>{t.outbox.status}</th>
            <th>{t.outbox.reason}</th>
            <th className="wide">{t.outbox.channel}</th>
            <th className="wide">{t.outbox.workflow}</th>
            <th className="wide">{t.outbox.step}</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m) => (
            <tr key={m.id} data-message={m.id} data-recipient={m.recipient || ""} data-status={m.captured ? "captured" : m.status}>
              <td className="time">{when(m.sent_at || m.created_at)}</td>
              <td className="recipient"><a href={`#/messages/${m.id}`} data-action="open-message">{m.recipient || `#${m.id}`}</a></td>
              <td className="subject">{m.subject}</td>
              <td className="state-cell"><span className={`state ${m.captured ? "captured" : m.status}`} data-shown-status>{shownStatus(m)}</span></td>
              <td className="reason" data-reason>{reasonText(m.reason)}</td>
              <td className="wide">{t.outbox.channels[m.channel as keyof typeof t.outbox.channels] || m.channel}</td>
              <td className="wide">{m.workflow || ""}</td>
              <td className="wide">{m.step_id || ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// The email's HTML as a sandboxed document: no scripts, an opaque origin, no popups and no
// navigation of the page; its policy is the workspace's (images only as data: URLs), so the
// open pixel never loads. A <base> makes every link a new window, which the sandbox refuses:
// clicking a tracked link follows nothing and records no click.
export function SandboxedEmail({ html, title }: { html: string; title: string }) {
  return <iframe className="email" sandbox="" referrerPolicy="no-referrer" title={title} srcDoc={`<base target="_blank">${html}`} />;
}

export function MessagePage({ id }: { id: string }) {
  const [m, setM] = useState<Detail | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api<Detail>(`/api/v1/messages/${encodeURIComponent(id)}`).then(setM, (e: Error) => setError(e.message));
  }, [id]);
  if (!m) return <main className="page">{error ? <p className="error" role="alert">{error}</p> : <p className="help">{t.loading}</p>}</main>;
  const facts: [string, string][] = [
    [t.outbox.status, shownStatus(m)],
    [t.outbox.reason, reasonText(m.reason)],
    [t.outbox.channel, t.outbox.channels[m.channel as keyof typeof t.outbox.channels] || m.channel],
    [t.outbox.sender, m.sender],
    [t.outbox.recipient, m.recipient || ""],
    [t.outbox.workflow, m.workflow ? `${m.workflow} · ${m.step_id || ""}` : ""],
    [t.outbox.created, when(m.created_at)],
    [t.outbox.sentAt, when(m.sent_at)],
    [t.outbox.attempts, String(m.attempts)],
  ];
  return (
    <main className="page message">
      <p><a href="#/messages" data-action="all-messages">{t.outbox.back}</a></p>
      <h1 data-subject>{m.subject || `${m.channel} #${m.id}`}</h1>
      <dl className="facts">
        {facts.filter(([, v]) => v).map(([k, v]) => (
          <div key={k} className={k === t.outbox.sender || k === t.outbox.recipient || k === t.outbox.reason ? "long" : undefined}><dt>{k}</dt><dd>{v}</dd></div>
        ))}
      </dl>
      {m.captured ? <p className="note">{t.outbox.capturedNote}</p> : null}
      {m.contact_id ? <p><a href={`#/contacts/${m.contact_id}`} data-action="open-contact">{t.outbox.contact}</a></p> : null}
      {m.html ? (
        <section className="panel">
          <h2>{t.outbox.preview}</h2>
          <p className="help">{t.outbox.previewHelp}</p>
          <SandboxedEmail html={m.html} title={t.outbox.preview} />
        </section>
      ) : null}
      {m.text ? <section className="panel"><h2>{t.outbox.text}</h2><pre className="text">{m.text}</pre></section> : null}
      {m.payload ? <section className="panel"><h2>{t.outbox.payload}</h2><pre className="text">{JSON.stringify(m.payload, null, 2)}</pre></section> : null}
      <section className="panel">
        <h2>{t.outbox.tracking}</h2>
        {!m.tracking.length ? <p className="help" data-no-tracking>{t.outbox.noTracking}</p> : (
          <ul className="plain" data-tracking>
            {m.tracking.map((e) => <li key={e.id}>{when(e.occurred_at)} · {e.name}</li>)}
          </ul>
        )}
      </section>
    </main>
  );
}
