import { useEffect } from 'preact/hooks';
import { adminToken, signOut } from './auth.ts';
import { closeLive, startLive } from './api/live.ts';
import { route, onLinkClick } from './router.ts';
import { ConnectionIndicator } from './components/connection-indicator.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { Overview } from './pages/overview.tsx';
import { Upstreams } from './pages/upstreams.tsx';
import { Keys } from './pages/keys.tsx';
import { Rules } from './pages/rules.tsx';
import { Logs } from './pages/logs.tsx';
import { Jobs } from './pages/jobs.tsx';
import { Tokens } from './pages/tokens.tsx';

const PAGES = [
  { path: '/', name: 'Overview', view: Overview },
  { path: '/upstreams', name: 'Upstreams', view: Upstreams },
  { path: '/keys', name: 'Keys', view: Keys },
  { path: '/rules', name: 'Rules', view: Rules },
  { path: '/logs', name: 'Logs', view: Logs },
  { path: '/jobs', name: 'Jobs', view: Jobs },
  { path: '/tokens', name: 'Tokens', view: Tokens },
] as const;

function currentPage(pathname: string) {
  const clean = pathname.replace(/\/+$/, '') || '/';
  return PAGES.find((p) => p.path === clean) ?? null;
}

export function App() {
  const token = adminToken.value;
  useEffect(() => {
    if (token) startLive();
    else closeLive();
  }, [token]);
  const page = currentPage(route.value.pathname);
  useEffect(() => {
    document.title = `${page?.name ?? 'Not found'} · keyrelay`;
  }, [page]);

  if (!token) return <SignIn />;
  const View = page?.view;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" onClick={onLinkClick}>
          keyrelay
        </a>
        <nav aria-label="Main">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={p.path} onClick={onLinkClick} aria-current={p === page ? 'page' : undefined}>
                  {p.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-end">
          <ConnectionIndicator />
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {View ? (
          <>
            <h1>{page.name}</h1>
            <View />
          </>
        ) : (
          <h1>Page not found</h1>
        )}
      </main>
    </>
  );
}
