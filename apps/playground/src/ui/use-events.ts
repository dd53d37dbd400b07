import { useEffect, useRef } from 'react';
import type { EvaluationRun, Job, LossPoint } from './api.ts';

export interface EventHandlers {
  onJob?: (job: Job) => void;
  onProgress?: (user: string, jobId: number, point: LossPoint) => void;
  onUsers?: (users: string[]) => void;
  onEvaluation?: (run: EvaluationRun) => void;
}

/** Subscribes to the server's event stream (/api/events); the browser reconnects by itself. */
export function useEvents(handlers: EventHandlers): void {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    const source = new EventSource('/api/events');
    source.addEventListener('job', (e) => ref.current.onJob?.(JSON.parse((e as MessageEvent).data).job));
    source.addEventListener('progress', (e) => {
      const data = JSON.parse((e as MessageEvent).data);
      ref.current.onProgress?.(data.user, data.jobId, data.point);
    });
    source.addEventListener('users', (e) =>
      ref.current.onUsers?.(JSON.parse((e as MessageEvent).data).users),
    );
    source.addEventListener('evaluation', (e) =>
      ref.current.onEvaluation?.(JSON.parse((e as MessageEvent).data).run),
    );
    return () => source.close();
  }, []);
}
