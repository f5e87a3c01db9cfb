// Hooks shared by the pages: the session, the stream status, and a fetch that follows its inputs,
// cancels stale requests and can refresh itself on a timer.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type RequestOptions } from './api.ts';
import { session, type SessionState } from './session.ts';
import { stream, type StreamStatus, type StreamType } from './stream.ts';

export function useSession(): SessionState | null {
  const [state, setState] = useState(session.current);
  useEffect(() => session.subscribe(() => setState(session.current)), []);
  return state;
}

export function useStreamStatus(): StreamStatus {
  const [status, setStatus] = useState(stream.status);
  useEffect(() => stream.onStatus(() => setStatus(stream.status)), []);
  return status;
}

export interface Fetched<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload(): void;
}

/**
 * GETs `path` (null: nothing to fetch) whenever `path` or the query changes. With `refreshMs` it
 * refetches on that period while the tab is visible. The previous data stays on screen while a new
 * request runs, so paging does not flash. A new `version` fetches again (after a live update).
 */
export function useFetch<T>(path: string | null, opts: Omit<RequestOptions, 'signal' | 'method' | 'body'> & { refreshMs?: number; version?: number } = {}): Fetched<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: path !== null });
  const [tick, setTick] = useState(0);
  const key = path === null ? null : `${path}${JSON.stringify(opts.query ?? {})}#${opts.version ?? 0}`;
  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    if (key === null || path === null) {
      setState({ loading: false });
      return;
    }
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { query: opts.query, signal: ctrl.signal }).then(
      (data) => setState({ data, loading: false }),
      (error: Error) => {
        if (error.name !== 'AbortError') setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => ctrl.abort();
  }, [key, tick]);

  useEffect(() => {
    if (!opts.refreshMs || key === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((n) => n + 1);
    }, opts.refreshMs);
    return () => clearInterval(timer);
  }, [key, opts.refreshMs]);

  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/**
 * Collects items and hands them to `fn` in batches: on an animation frame, at most every `minMs`.
 * A hidden tab gets no frames; meanwhile only the newest `cap` items are kept.
 */
export function useFrameBatch<T>(fn: (items: T[]) => void, minMs = 200, cap = 1000): (item: T) => void {
  const queue = useRef<T[]>([]);
  const frame = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const last = useRef(0);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(
    () => () => {
      cancelAnimationFrame(frame.current);
      clearTimeout(timer.current);
    },
    [],
  );
  return useCallback((item: T) => {
    queue.current.push(item);
    if (queue.current.length > cap) queue.current.splice(0, queue.current.length - cap);
    if (frame.current || timer.current) return;
    const draw = () => {
      timer.current = undefined;
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        last.current = performance.now();
        const items = queue.current;
        queue.current = [];
        latest.current(items);
      });
    };
    const wait = last.current + minMs - performance.now();
    if (wait > 0) timer.current = setTimeout(draw, wait);
    else draw();
  }, []);
}

/**
 * A number that grows when the stream brings events of these types (at most every `minMs`): pass
 * it as useFetch's `version` to refetch an aggregate soon after something changed it.
 */
export function useStreamVersion(types: readonly StreamType[], minMs = 3000): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bump = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        setVersion((v) => v + 1);
      }, minMs);
    };
    const offs = types.map((t) => stream.on(t, bump));
    return () => {
      offs.forEach((off) => off());
      clearTimeout(timer);
    };
  }, [types.join(','), minMs]);
  return version;
}

/** Re-renders every `ms` (relative times such as "12 s ago"). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
