// One contact: its attributes edited in place (PUT /v3/contacts/{id}), its list memberships
// (ticked lists join, unticked leave, at once) and the journey timeline it has in the
// workflow pages.
import { useEffect, useState } from "react";
import { api, allLists, attributeDefinitions } from "./api";
import type { AttributeInfo, ContactInfo, ListInfo } from "./api";
import { isNumber } from "./Contacts";
import { t } from "./i18n";

type Entry = {
  at: string; type: string; workflow: string | null; event?: string | null; step_id?: string | null;
  kind?: string | null; result?: string | null; branch?: string | null; reason: string;
};

// Typed values from what was typed: numbers for number attributes, booleans for boolean ones.
function typed(text: string, definition: AttributeInfo | undefined): unknown {
  if (text === "") return null;
  if (definition && isNumber(definition) && !Number.isNaN(Number(text))) return Number(text);
  if (definition?.type === "boolean") return text === "true";
  return text;
}

export function ContactPage({ id }: { id: string }) {
  const [contact, setContact] = useState<ContactInfo | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [definitions, setDefinitions] = useState<AttributeInfo[]>([]);
  const [lists, setLists] = useState<ListInfo[]>([]);
  const [timeline, setTimeline] = useState<Entry[] | null>(null);
  const [status, setStatus] = useState("");
  const [adding, setAdding] = useState("");
  const path = `/v3/contacts/${encodeURIComponent(id)}?identifierType=contact_id`;

  const reload = async () => {
    const found = await api<ContactInfo>(path);
    setContact(found);
    setValues(Object.fromEntries(Object.entries(found.attributes).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)])));
  };
  useEffect(() => {
    reload().catch((e: Error) => setStatus(e.message));
    attributeDefinitions().then(setDefinitions, () => setDefinitions([]));
    allLists().then(setLists, () => setLists([]));
    api<{ timeline: Entry[] }>(`/api/v1/contacts/${encodeURIComponent(id)}/timeline`).then((f) => setTimeline(f.timeline), () => setTimeline([]));
  }, [id]);

  const guarded = (work: () => Promise<void>) => async () => {
    try { await work(); } catch (e) { setStatus((e as Error).message); }
  };
  const definition = new Map(definitions.map((d) => [d.name, d]));
  const save = guarded(async () => {
    const attributes = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typed(v, definition.get(k))]));
    await api(path, "PUT", { attributes });
    await reload();
    setStatus(t.contacts.saved);
  });
  const member = (listId: number, join: boolean) => guarded(async () => {
    await api(path, "PUT", join ? { listIds: [listId] } : { unlinkListIds: [listId] });
    await reload();
    setStatus(t.contacts.saved);
  })();

  if (!contact) return <main className="page"><p className="help" role="status">{status || t.loading}</p></main>;
  const missing = definitions.filter((d) => !(d.name in values));
  return (
    <main className="page contact">
      <p><a href="#/contacts" data-action="all-contacts">{t.contacts.back}</a></p>
      <h1 data-contact-email>{contact.email || `#${contact.id}`}</h1>
      {contact.emailBlacklisted ? <p className="bad">{t.contacts.blocked}</p> : null}
      <p className="status" role="status" data-status>{status}</p>
      <div className="two">
        <section className="panel">
          <h2>{t.contacts.attributes}</h2>
          <form onSubmit={(e) => { e.preventDefault(); save(); }}>
            {Object.keys(values).sort().map((name) => (
              <label className="field" key={name}>
                <span className="label">{name}</span>
                <input name={`attributes.${name}`} value={values[name]}
                  type={isNumber(definition.get(name) || { name }) ? "number" : "text"} step="any"
                  onChange={(e) => setValues({ ...values, [name]: e.target.value })} />
              </label>
            ))}
            {missing.length ? (
              <p className="inline">
                <select name="add-attribute" aria-label={t.contacts.addAttribute} value={adding} onChange={(e) => setAdding(e.target.value)}>
                  <option value="">{t.contacts.addAttribute}</option>
                  {missing.map((d) => <option key={d.name} value={d.name}>{d.name}</option>)}
                </select>
                <button type="button" data-action="add-attribute" disabled={!adding} onClick={() => { setValues({ ...values, [adding]: "" }); setAdding(""); }}>{t.addItem}</button>
              </p>
            ) : null}
            <button type="submit" className="primary" data-action="save-contact">{t.contacts.save}</button>
          </form>
        </section>
        <section className="panel">
          <h2>{t.contacts.memberships}</h2>
          <ul className="plain">
            {lists.map((l) => (
              <li key={l.id}>
                <label className="check">
                  <input type="checkbox" name="member" data-list={l.name} checked={contact.listIds.includes(l.id)} onChange={(e) => member(l.id, e.target.checked)} />
                  <a href={`#/lists/${l.id}`}>{l.name}</a>
                </label>
              </li>
            ))}
          </ul>
        </section>
      </div>
      <section className="panel">
        <h2>{t.contacts.timeline}</h2>
        {timeline === null ? <p className="help">{t.loading}</p> : !timeline.length ? <p className="empty">{t.contacts.noTimeline}</p> : (
          <ol className="timeline" data-timeline>
            {timeline.map((e, i) => (
              <li key={i} data-entry={e.type}>
                <time>{e.at.replace("T", " ").slice(0, 19)}</time>{" "}
                <a href={`#/workflows/${encodeURIComponent(e.workflow || "")}`}>{e.workflow}</a>{" "}
                {e.type === "step" ? (
                  <span>{e.step_id} · {t.kinds[e.kind || ""] || e.kind}{e.result ? ` · ${e.result}` : ""}{e.branch ? ` → ${t.branches[e.branch] || e.branch}` : ""}</span>
                ) : (
                  <span>{e.type === "entered" ? t.contacts.entered : t.contacts.refused}{e.event ? ` (${e.event})` : ""}</span>
                )}
                {e.reason ? <span className="help"> — {e.reason}</span> : null}
              </li>
            ))}
          </ol>
        )}
      </section>
    </main>
  );
}
