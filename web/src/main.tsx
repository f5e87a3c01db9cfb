// The dashboard: login, forced password change, then the pages. Every page but the overview is
// its own chunk, loaded when first opened.
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { stream } from './lib/stream.ts';
import { feed } from './lib/feed.ts';
import { useSession } from './lib/hooks.ts';
import { match, navigate, useLocation } from './lib/router.ts';
import { Layout } from './components/Layout.tsx';
import { ChangePasswordPage, LoginPage, logOut } from './pages/Login.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { ErrorBox, Loading } from './components/ui.tsx';

type Params = Record<string, string>;
type Loader = () => Promise<ComponentType<{ params: Params }>>;

const ROUTES: [string, Loader][] = [
  ['/attackers', () => import('./pages/Attackers.tsx').then((m) => m.AttackersPage)],
  ['/attackers/lookup', () => import('./pages/AttackerDetail.tsx').then((m) => m.AttackerByIpPage)],
  ['/attackers/:uuid', () => import('./pages/AttackerDetail.tsx').then((m) => m.AttackerPage)],
  ['/credentials', () => import('./pages/Credentials.tsx').then((m) => m.CredentialsPage)],
  ['/logs', () => import('./pages/Logs.tsx').then((m) => m.LogsPage)],
  ['/attack', () => import('./pages/Attack.tsx').then((m) => m.AttackPage)],
  ['/deckies', () => import('./pages/Deckies.tsx').then((m) => m.DeckiesPage)],
  ['/workers', () => import('./pages/Workers.tsx').then((m) => m.WorkersPage)],
  ['/webhooks', () => import('./pages/Webhooks.tsx').then((m) => m.WebhooksPage)],
];

const loaded = new Map<Loader, ComponentType<{ params: Params }>>();

function Lazy({ loader, params }: { loader: Loader; params: Params }) {
  const [Page, setPage] = useState(() => loaded.get(loader));
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (loaded.has(loader)) {
      setPage(() => loaded.get(loader));
      return;
    }
    let live = true;
    loader().then(
      (p) => {
        loaded.set(loader, p);
        if (live) setPage(() => p);
      },
      (err: Error) => live && setError(new Error(`this page could not be loaded (${err.message}); reload the dashboard`)),
    );
    return () => {
      live = false;
    };
  }, [loader]);
  if (error) return <ErrorBox error={error} />;
  if (!Page || loaded.get(loader) !== Page) return <Loading />;
  return <Page params={params} />;
}

function NotFound() {
  return (
    <div class="card">
      <h1>Not found</h1>
      <p>
        There is no page here. <a href="/">Go to the overview</a>.
      </p>
    </div>
  );
}

function Page({ path }: { path: string }) {
  if (path === '/') return <OverviewPage />;
  if (path === '/password') return <ChangePasswordPage forced={false} />;
  for (const [pattern, loader] of ROUTES) {
    const params = match(pattern, path);
    if (params) return <Lazy key={pattern} loader={loader} params={params} />;
  }
  return <NotFound />;
}

function App() {
  const me = useSession();
  const { path } = useLocation();
  const ready = me !== null && !me.mustChangePassword;
  useEffect(() => {
    if (ready) {
      stream.start();
      feed.start();
    } else {
      stream.stop();
      feed.stop();
    }
  }, [ready]);
  useEffect(() => {
    if (path === '/login' && me) navigate('/', { replace: true });
  }, [path, me]);
  if (!me) return <LoginPage />;
  if (me.mustChangePassword) return <ChangePasswordPage forced />;
  return (
    <Layout onLogout={() => void logOut()}>
      <Page path={path} />
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
