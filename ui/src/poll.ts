// Live counts: a task run now and again after each round, stopped for good when the page is
// left (the component unmounts or its inputs change), also when that happens before the first
// round has answered: no round starts another once its page is gone.
import { useEffect } from "react";

export const POLL_MS = 2000;

// ``task`` gets ``alive()``: false once the page is gone, so it sets no state then. A round
// waits ``ms`` after the last, or four times as long as the last took when that is longer,
// and a hidden tab skips its rounds.
export function usePolling(task: (alive: () => boolean) => Promise<void>, ms: number, inputs: unknown[]): void {
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const round = async () => {
      const started = performance.now();
      if (!document.hidden) {
        try {
          await task(() => alive);
        } catch {
          // the task shows its own errors; the next round tries again
        }
      }
      if (alive) timer = setTimeout(round, Math.max(ms, 4 * (performance.now() - started)));
    };
    round();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, inputs);
}
