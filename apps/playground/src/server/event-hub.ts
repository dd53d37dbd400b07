/** What the server pushes to the page over Server-Sent Events (`GET /api/events`). */
export type HubEvent =
  | { readonly type: 'job'; readonly job: unknown }
  | { readonly type: 'progress'; readonly user: string; readonly jobId: number; readonly point: unknown }
  | { readonly type: 'users'; readonly users: readonly string[] }
  | { readonly type: 'evaluation'; readonly run: unknown };

export type HubListener = (event: HubEvent) => void;

/** Fan-out of server events to every open event stream. A listener that throws is dropped. */
export class EventHub {
  private readonly listeners = new Set<HubListener>();

  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: HubEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
