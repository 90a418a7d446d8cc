// The workspace's entry: sign in (the key the vanilla UI keeps in this tab), then the page the
// address names: the workflows (#/workflows, also for an empty address), one workflow read
// (#/workflows/KEY), the builder on a new workflow (#/new) or a workflow's draft or current
// version (#/edit/KEY), contacts (#/contacts, #/contacts/ID), lists (#/lists, #/lists/ID),
// the outbox (#/messages, #/messages/ID) and reports (#/reports).
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { api, apiKey, ApiError, KEY_STORE } from "./api";
import { Builder } from "./Builder";
import { Doc } from "./doc";
import { Schemas } from "./schema";
import { ContactPage } from "./ContactPage";
import { Contacts } from "./Contacts";
import { ListPage, Lists } from "./Lists";
import { MessagePage, Outbox } from "./Outbox";
import { Reports } from "./Reports";
import { Nav, PageName } from "./Nav";
import { WorkflowPage } from "./WorkflowPage";
import { Workflows } from "./Workflows";
import { language, setLanguage, t } from "./i18n";

type Loaded = { schemas: Schemas; doc: Doc; editing: string | null; note: string };

const EMPTY: Doc = { name: "", entry_points: [{ event: "" }], reentry: "once", steps: [] };

async function load(hash: string): Promise<Loaded> {
  const schemas = new Schemas(await api<any>("/api/v1/schema"));
  const match = /^#\/edit\/(.+)$/.exec(hash);
  if (!match) return { schemas, doc: structuredClone(EMPTY), editing: null, note: "" };
  const key = decodeURIComponent(match[1]);
  try {
    const draft = await api<any>(`/api/v1/drafts/${encodeURIComponent(key)}`);
    return { schemas, doc: draft.document, editing: key, note: t.draftOpened };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const found = await api<any>(`/api/v1/workflows/${encodeURIComponent(key)}`);
  return { schemas, doc: found.document, editing: key, note: "" };
}

function SignIn({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState("");
  return (
    <form className="sign-in" onSubmit={(e) => { e.preventDefault(); sessionStorage.setItem(KEY_STORE, key.trim()); onDone(); }}>
      <h1>{t.title}</h1>
      <label>{t.signIn} <input id="key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} /></label>
      <button type="submit">{t.open}</button>
    </form>
  );
}

function App() {
  const [hash, setHash] = useState(location.hash);
  const [signedIn, setSignedIn] = useState(!!apiKey());
  const [lang, setLang] = useState(language);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const moved = () => setHash(location.hash);
    window.addEventListener("hashchange", moved);
    return () => window.removeEventListener("hashchange", moved);
  }, []);
  const [path, search] = hash.split("?");
  const page = pageOf(path);
  useEffect(() => {
    if (!signedIn || page !== "builder") return;
    setLoaded(null);
    load(hash).then(setLoaded, (e: Error) => {
      if (e instanceof ApiError && e.status === 401) setSignedIn(false);
      setError(e.message);
    });
  }, [hash, signedIn, page]);
  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  // A new language renders every page anew, in the words of its catalogue.
  const onLanguage = (code: string) => { setLanguage(code); setLang(code); };
  return (
    <div className="workspace" key={lang}>
      <Nav page={page} onLanguage={onLanguage} />
      {page === "contacts" ? contactsPage(path, search) : page === "lists" ? listsPage(path)
        : page === "messages" ? messagesPage(path, search)
        : page === "reports" ? <Reports key={search || ""} query={new URLSearchParams(search || "")} />
        : page === "workflows" ? workflowsPage(path) : (
        error ? <p className="error" role="alert">{error}</p>
          : !loaded ? <p className="help">{t.loading}</p>
          : <Builder key={hash} schemas={loaded.schemas} initial={loaded.doc} editing={loaded.editing} note={loaded.note} />
      )}
    </div>
  );
}

function pageOf(path: string): PageName {
  if (path.startsWith("#/contacts")) return "contacts";
  if (path.startsWith("#/lists")) return "lists";
  if (path.startsWith("#/messages")) return "messages";
  if (path.startsWith("#/reports")) return "reports";
  if (path === "#/new" || path.startsWith("#/edit/")) return "builder";
  return "workflows";
}

function workflowsPage(path: string) {
  const one = /^#\/workflows\/(.+)$/.exec(path);
  if (!one) return <Workflows />;
  const key = decodeURIComponent(one[1]);
  return <WorkflowPage key={key} workflowKey={key} />;
}

function contactsPage(path: string, search: string | undefined) {
  const one = /^#\/contacts\/(\d+)$/.exec(path);
  if (one) return <ContactPage key={one[1]} id={one[1]} />;
  return <Contacts key={search || ""} query={new URLSearchParams(search || "")} />;
}

function messagesPage(path: string, search: string | undefined) {
  const one = /^#\/messages\/(\d+)$/.exec(path);
  if (one) return <MessagePage key={one[1]} id={one[1]} />;
  return <Outbox key={search || ""} query={new URLSearchParams(search || "")} />;
}

function listsPage(path: string) {
  const one = /^#\/lists\/(\d+)$/.exec(path);
  return one ? <ListPage key={one[1]} id={one[1]} /> : <Lists />;
}

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
