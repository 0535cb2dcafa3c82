import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AuthRequired } from './api';
import { BuildPage } from './build-page';
import { BuildsList } from './builds-list';
import { Login } from './login';
import { NowView } from './now-view';
import { link } from './router';
import './style.css';

/** Two pages: `/` (Now and the builds list) and `/builds/<invocation id>`; links navigate without reloading. */
function route(): { page: 'home' } | { page: 'build'; id: string } {
  const m = /^\/builds\/([^/]+)\/?$/.exec(location.pathname);
  if (!m) return { page: 'home' };
  const id = decodeURIComponent(m[1]);
  return { page: 'build', id: id === '_' ? '' : id };
}

function App() {
  const [r, setRoute] = useState(route());
  const [needsLogin, setNeedsLogin] = useState(false);
  useEffect(() => {
    const onPop = () => setRoute(route());
    const onAuth = (e: PromiseRejectionEvent) => {
      if (e.reason instanceof AuthRequired) setNeedsLogin(true);
    };
    window.addEventListener('popstate', onPop);
    window.addEventListener('unhandledrejection', onAuth);
    return () => {
      window.removeEventListener('popstate', onPop);
      window.removeEventListener('unhandledrejection', onAuth);
    };
  }, []);
  const onAuthError = (e: Error) => e instanceof AuthRequired && setNeedsLogin(true);
  if (needsLogin) return <Login onDone={() => location.reload()} />;
  return (
    <>
      <header>
        <a href="/" onClick={link('/')} class="brand">
          rustexec
        </a>
        <span class="subtitle">builds, critical paths and bottleneck crates</span>
      </header>
      <main>
        {r.page === 'home' ? (
          <>
            <NowView onAuthError={onAuthError} />
            <BuildsList onAuthError={onAuthError} />
          </>
        ) : (
          <BuildPage id={r.id} onAuthError={onAuthError} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
