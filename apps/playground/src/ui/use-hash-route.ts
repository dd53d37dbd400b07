import { useEffect, useState } from 'react';

export const PAGES = ['users', 'training', 'chat', 'adapter', 'evaluation'] as const;
export type Page = (typeof PAGES)[number];

export interface Route {
  page: Page;
  user?: string;
}

function parse(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const page = (PAGES as readonly string[]).includes(path) ? (path as Page) : 'users';
  const user = new URLSearchParams(query).get('user') ?? undefined;
  return user ? { page, user } : { page };
}

export function routeHref(route: Route): string {
  return `#/${route.page}${route.user ? `?user=${encodeURIComponent(route.user)}` : ''}`;
}

/** The page and selected user, kept in the URL's hash so reloads and links keep them. */
export function useHashRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return [route, (next) => (window.location.hash = routeHref(next))];
}
