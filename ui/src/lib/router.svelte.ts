// Hash routes: #/activities, #/activities/new, #/activities/<id>, #/history/<id>, ...
export type Route = { screen: string; id?: string; sub?: string };

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { screen: 'home' };
  return { screen: parts[0], id: parts[1], sub: parts[2] };
}

class Router {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('hashchange', () => {
        this.route = parseHash(location.hash);
      });
    }
  }

  go(path: string) {
    location.hash = `#/${path}`;
  }

  back() {
    history.back();
  }
}

export const router = new Router();
