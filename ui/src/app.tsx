// The shell: the login screen until a token is accepted, then the header, the banners and the
// view the URL names.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { Client, type Outage } from './api.ts';
import { AppContext, type Ctx } from './context.ts';
import { Live, type LiveState } from './live.ts';
import { Login } from './login.tsx';
import { parseRoute, type Route, routeSearch, type View } from './route.ts';
import { clearToken, loadToken, saveToken } from './token.ts';
import { Activity } from './views/activity.tsx';
import { Destinations } from './views/destinations.tsx';
import { EventDetail } from './views/detail.tsx';
import { EventList } from './views/events.tsx';
import { Rejections } from './views/rejections.tsx';

export function App() {
  const [token, setToken] = useState(loadToken);
  const [notice, setNotice] = useState('');
  const signOut = useCallback((why: string) => {
    clearToken();
    setNotice(why);
    setToken('');
  }, []);
  if (!token) {
    return (
      <Login
        notice={notice}
        onLogin={(t, remember) => {
          saveToken(t, remember);
          setNotice('');
          setToken(t);
        }}
      />
    );
  }
  return <Dashboard key={token} token={token} signOut={signOut} />;
}

function useRoute(): [Route, Ctx['navigate']] {
  const [route, setRoute] = useState(() => parseRoute(location.search));
  useEffect(() => {
    const back = () => setRoute(parseRoute(location.search));
    window.addEventListener('popstate', back);
    return () => window.removeEventListener('popstate', back);
  }, []);
  const navigate = useCallback<Ctx['navigate']>((next, options) => {
    const search = routeSearch(next);
    if (search !== location.search) {
      const href = search || location.pathname;
      if (options?.replace) history.replaceState(null, '', href);
      else history.pushState(null, '', href);
    }
    setRoute(next);
  }, []);
  return [route, navigate];
}

const VIEW_NAMES: Record<View, string> = {
  events: 'Events',
  rejections: 'Rejections',
  destinations: 'Destinations',
  activity: 'Activity',
};

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Polling every 2 s',
};

function Dashboard({ token, signOut }: { token: string; signOut(why: string): void }) {
  const [outage, setOutage] = useState<Outage>(null);
  const client = useMemo(
    () =>
      new Client(token, {
        unauthorized: () => signOut('The gateway refused the token. Enter it again.'),
        outage: setOutage,
      }),
    [token, signOut],
  );
  const live = useMemo(() => new Live(client), [client]);
  const [liveState, setLiveState] = useState<LiveState>(live.state);
  useEffect(() => {
    const off = live.onState(setLiveState);
    live.start();
    return () => {
      off();
      live.stop();
    };
  }, [live]);
  const [route, navigate] = useRoute();
  const ctx = useMemo<Ctx>(
    () => ({ client, live, route, navigate }),
    [client, live, route, navigate],
  );

  // `/` jumps to the search box from anywhere but a text field, as on GitHub and Gmail.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      if (target?.closest('input, textarea, select, dialog, [contenteditable]')) return;
      e.preventDefault();
      if (route.view === 'events' && !route.event) {
        document.getElementById('search')?.focus();
        return;
      }
      navigate({ ...route, view: 'events', event: '' });
      // After the list has rendered again.
      window.setTimeout(() => document.getElementById('search')?.focus(), 0);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [route, navigate]);

  const link = (view: View) => {
    const next = { ...route, view, event: '' };
    return {
      href: routeSearch(next) || '/',
      'aria-current': route.view === view && !route.event ? ('page' as const) : undefined,
      onClick: (e: MouseEvent) => {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
        e.preventDefault();
        navigate(next);
      },
    };
  };

  return (
    <AppContext.Provider value={ctx}>
      <header class="top">
        <a class="brand" {...link('events')} aria-current={undefined}>
          Hookyard
        </a>
        <nav aria-label="Views">
          {(Object.keys(VIEW_NAMES) as View[]).map((view) => (
            <a key={view} {...link(view)}>
              {VIEW_NAMES[view]}
            </a>
          ))}
        </nav>
        <span
          class={`live live-${liveState}`}
          role="status"
          title={
            liveState === 'polling'
              ? 'This gateway has no live stream (GET /api/stream): the newest events are read every 2 s'
              : 'Updates from the gateway, as they happen'
          }
        >
          {LIVE_TEXT[liveState]}
        </span>
        <button type="button" class="quiet" onClick={() => signOut('Signed out.')}>
          Sign out
        </button>
      </header>
      {outage && (
        <div class="banner warn" role="alert">
          {outage === 'storage'
            ? 'Storage unavailable, retrying…'
            : 'The gateway does not answer, retrying…'}
        </div>
      )}
      <main>
        {route.view === 'events' && <EventList hidden={route.event !== ''} />}
        {route.event !== '' && <EventDetail key={route.event} id={route.event} />}
        {route.event === '' && route.view === 'rejections' && <Rejections />}
        {route.event === '' && route.view === 'destinations' && <Destinations />}
        {route.event === '' && route.view === 'activity' && <Activity />}
      </main>
    </AppContext.Provider>
  );
}
