// Every workflow with its status, current version and runs in flight, each to read or edit;
// the workspace's landing page.
import { useEffect, useState } from "react";
import { api } from "./api";
import type { RunCounts } from "./ReadGraph";
import { t } from "./i18n";

type Summary = { key: string; name: string; status: string; version: number | null; runs: RunCounts };

export function Workflows() {
  const [found, setFound] = useState<Summary[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let alive = true;
    api<{ workflows: Summary[] }>("/api/v1/workflows").then(
      (f) => alive && setFound(f.workflows),
      (e: Error) => alive && setError(e.message),
    );
    return () => { alive = false; };
  }, []);
  const w = t.workflows;
  return (
    <main className="page workflows">
      <h1>{w.title}</h1>
      <p><a className="button primary" href="#/new" data-action="new-workflow">{t.newWorkflow}</a></p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {!found ? (error ? null : <p className="help">{t.loading}</p>) : !found.length ? <p className="empty" data-empty>{w.none}</p> : (
        <div className="table-wrap">
          <table className="rows" data-workflows>
            <thead>
              <tr>
                <th>{w.name}</th><th>{w.status}</th><th className="number">{w.version}</th>
                <th className="number">{w.inside}</th><th className="number wide">{w.entered}</th><th>{w.actions}</th>
              </tr>
            </thead>
            <tbody>
              {found.map((f) => (
                <tr key={f.key} data-workflow-row={f.key}>
                  <td><a href={`#/workflows/${encodeURIComponent(f.key)}`} data-action="read-workflow">{f.name}</a><div className="help">{f.key}</div></td>
                  <td><span className={`chip status-${f.status}`} data-value={f.status}>{w.statuses[f.status] || f.status}</span></td>
                  <td className="number">{f.version ?? ""}</td>
                  <td className="number" data-inside={f.runs.inside}>{f.runs.inside}</td>
                  <td className="number wide">{f.runs.entered}</td>
                  <td className="links">
                    <a href={`#/workflows/${encodeURIComponent(f.key)}`}>{w.read}</a>{" "}
                    <a href={`#/edit/${encodeURIComponent(f.key)}`} data-action="edit-workflow">{w.edit}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
