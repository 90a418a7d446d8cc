// Contacts > Lists: every list with its member count, created here; one list's members, added
// by email and removed, and the list renamed (the /v3/contacts/lists routes).
import { useEffect, useState } from "react";
import { api, allLists } from "./api";
import type { ContactInfo, ListInfo } from "./api";
import { PAGE_SIZE, Pager } from "./Contacts";
import { t } from "./i18n";

export function Lists() {
  const [lists, setLists] = useState<ListInfo[] | null>(null);
  const [name, setName] = useState("");
  const [status, setStatus] = useState("");
  const reload = () => allLists().then(setLists, (e: Error) => setStatus(e.message));
  useEffect(() => { reload(); }, []);
  const create = async () => {
    try {
      const made = await api<{ id: number }>("/v3/contacts/lists", "POST", { name: name.trim(), folderId: 1 });
      setName("");
      location.hash = `#/lists/${made.id}`;
    } catch (e) {
      setStatus((e as Error).message);
    }
  };
  return (
    <main className="page lists">
      <h1>{t.lists.title}</h1>
      <form className="inline create" onSubmit={(e) => { e.preventDefault(); if (name.trim()) create(); }}>
        <input name="new-list" aria-label={t.lists.newName} placeholder={t.lists.newName} value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary" data-action="create-list" disabled={!name.trim()}>{t.lists.create}</button>
      </form>
      <p className="status" role="status">{status}</p>
      {!lists ? <p className="help">{t.loading}</p> : !lists.length ? <p className="empty">{t.lists.none}</p> : (
        <div className="table-wrap">
          <table className="rows" data-lists>
            <thead><tr><th>{t.lists.name}</th><th className="number">{t.lists.members}</th></tr></thead>
            <tbody>
              {lists.map((l) => (
                <tr key={l.id} data-list={l.name}>
                  <td><a href={`#/lists/${l.id}`}>{l.name}</a></td>
                  <td className="number" data-members={l.totalSubscribers}>{l.totalSubscribers}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

export function ListPage({ id }: { id: string }) {
  const [info, setInfo] = useState<{ name: string; totalSubscribers: number } | null>(null);
  const [name, setName] = useState("");
  const [members, setMembers] = useState<{ contacts: ContactInfo[]; count: number } | null>(null);
  const [offset, setOffset] = useState(0);
  const [emails, setEmails] = useState("");
  const [status, setStatus] = useState("");
  const base = `/v3/contacts/lists/${encodeURIComponent(id)}`;

  const reload = async () => {
    const found = await api<{ name: string; totalSubscribers: number }>(base);
    setInfo(found);
    setName(found.name);
    setMembers(await api(`${base}/contacts?limit=${PAGE_SIZE}&offset=${offset}`));
  };
  useEffect(() => { reload().catch((e: Error) => setStatus(e.message)); }, [id, offset]);
  const guarded = (work: () => Promise<string>) => async () => {
    try { setStatus(await work()); } catch (e) { setStatus((e as Error).message); }
  };
  const rename = guarded(async () => {
    await api(base, "PUT", { name: name.trim() });
    await reload();
    return t.contacts.saved;
  });
  const add = guarded(async () => {
    const wanted = emails.split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean);
    const answer = await api<{ contacts: { success?: string[]; failure?: string[] } }>(`${base}/contacts/add`, "POST", { emails: wanted });
    setEmails("");
    await reload();
    const failed = answer.contacts.failure || [];
    return `${t.lists.added}: ${(answer.contacts.success || []).join(", ")}${failed.length ? ` · ✕ ${failed.join(", ")}` : ""}`;
  });
  const remove = (email: string) => guarded(async () => {
    await api(`${base}/contacts/remove`, "POST", { emails: [email] });
    await reload();
    return `${t.lists.removed}: ${email}`;
  })();

  if (!info) return <main className="page"><p className="help" role="status">{status || t.loading}</p></main>;
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = members ? Math.max(1, Math.ceil(members.count / PAGE_SIZE)) : 1;
  return (
    <main className="page list">
      <p><a href="#/lists" data-action="all-lists">{t.lists.back}</a></p>
      <h1 data-list-name>{info.name}</h1>
      <p className="help" data-members={info.totalSubscribers}>{info.totalSubscribers} {t.lists.memberCount}</p>
      <p className="status" role="status" data-status>{status}</p>
      <div className="two">
        <form className="panel" onSubmit={(e) => { e.preventDefault(); if (name.trim()) rename(); }}>
          <label className="field"><span className="label">{t.lists.name}</span>
            <input name="list-name" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" data-action="rename-list">{t.lists.rename}</button>
        </form>
        <form className="panel" onSubmit={(e) => { e.preventDefault(); if (emails.trim()) add(); }}>
          <label className="field"><span className="label">{t.lists.add}</span>
            <textarea name="add-emails" rows={3} value={emails} onChange={(e) => setEmails(e.target.value)} />
            <span className="help">{t.lists.addHelp}</span>
          </label>
          <button type="submit" className="primary" data-action="add-members">{t.lists.addButton}</button>
        </form>
      </div>
      {!members ? <p className="help">{t.loading}</p> : !members.contacts.length ? <p className="empty">{t.lists.noMembers}</p> : (
        <div className="table-wrap">
          <table className="rows" data-members-table>
            <thead><tr><th>{t.contacts.email}</th><th></th></tr></thead>
            <tbody>
              {members.contacts.map((c) => (
                <tr key={c.id} data-member={c.email || c.id}>
                  <td><a href={`#/contacts/${c.id}`}>{c.email || `#${c.id}`}</a></td>
                  <td className="number">
                    {c.email ? <button type="button" className="danger" data-action="remove-member" onClick={() => remove(c.email as string)}>{t.lists.remove}</button> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={page} pages={pages} onPage={(n) => setOffset((n - 1) * PAGE_SIZE)} />
    </main>
  );
}
