// The builder's entry: sign in (the key the vanilla UI keeps in this tab), load the schema,
// open a new workflow (#/new) or a workflow's draft or current version (#/edit/KEY).
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { api, apiKey, ApiError, KEY_STORE } from "./api";
import { Builder } from "./Builder";
import { Doc } from "./doc";
import { Schemas } from "./schema";
import { t } from "./messages";

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
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const moved = () => setHash(location.hash);
    window.addEventListener("hashchange", moved);
    return () => window.removeEventListener("hashchange", moved);
  }, []);
  useEffect(() => {
    if (!signedIn) return;
    setLoaded(null);
    load(hash).then(setLoaded, (e: Error) => {
      if (e instanceof ApiError && e.status === 401) setSignedIn(false);
      setError(e.message);
    });
  }, [hash, signedIn]);
  if (!signedIn) return <SignIn onDone={() => setSignedIn(true)} />;
  if (error) return <p className="error" role="alert">{error}</p>;
  if (!loaded) return <p className="help">{t.loading}</p>;
  return <Builder key={hash} schemas={loaded.schemas} initial={loaded.doc} editing={loaded.editing} note={loaded.note} />;
}

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
