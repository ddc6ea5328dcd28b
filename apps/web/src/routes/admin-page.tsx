import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { AnswersChart } from '../components/hud/answers-chart.tsx';
import { ControlProvider } from '../components/hud/control.tsx';
import { CreateSaleForm } from '../components/hud/create-sale-form.tsx';
import { DlqPanel } from '../components/hud/dlq-panel.tsx';
import { EventFeed } from '../components/hud/event-feed.tsx';
import { HealthPanel } from '../components/hud/health-panel.tsx';
import { HudHeader } from '../components/hud/hud-header.tsx';
import { LoginForm } from '../components/hud/login-form.tsx';
import { SalesPanel } from '../components/hud/sales-panel.tsx';
import { StatTiles } from '../components/hud/stat-tiles.tsx';
import { useTheme } from '../lib/theme.ts';
import { trpcClient } from '../lib/trpc.ts';
import { useHudStream } from '../lib/use-hud-stream.ts';

type Auth = 'checking' | 'in' | 'out';

/**
 * `/admin`, the Cyber-HUD. Whether we are signed in is learnt from the one `live.hud` stream:
 * a frame means yes, NOT_ADMIN (there or from any action) shows the login form.
 */
export function AdminPage() {
  const [theme, toggleTheme] = useTheme();
  const [auth, setAuth] = useState<Auth>('checking');
  const queryClient = useQueryClient();
  const signedOut = useCallback(() => {
    setAuth('out');
    queryClient.removeQueries({ queryKey: ['admin'] });
  }, [queryClient]);
  const onFrame = useCallback(() => setAuth((a) => (a === 'out' ? a : 'in')), []);
  const hud = useHudStream(auth !== 'out', signedOut, onFrame);

  async function logout() {
    await trpcClient.admin.logout.mutate({}).catch(() => undefined); // signed out either way
    signedOut();
  }

  const link = hud.status === 'pending' ? 'live' : hud.status === 'connecting' ? 'connecting' : 'offline';
  return (
    <div className="page hud-page">
      <HudHeader
        theme={theme}
        onToggleTheme={toggleTheme}
        onLogout={auth === 'in' ? () => void logout() : null}
        link={link}
      />
      {auth === 'out' ? (
        <main className="login-wrap">
          <LoginForm onLoggedIn={() => setAuth('in')} />
        </main>
      ) : auth === 'checking' ? (
        <main className="login-wrap">
          <p className="muted connecting">Connecting to the control center…</p>
        </main>
      ) : (
        <ControlProvider onNotAdmin={signedOut}>
          <main className="hud" data-testid="hud">
            <StatTiles frame={hud.frame} history={hud.history} />
            <AnswersChart points={hud.answers} />
            <div className="hud-grid">
              <div className="hud-col">
                <SalesPanel sales={hud.frame?.sales ?? null} />
                <CreateSaleForm />
                <DlqPanel
                  depth={hud.frame?.dlq.depth ?? null}
                  oldestAgeMs={hud.frame?.dlq.oldestAgeMs ?? null}
                />
              </div>
              <div className="hud-col">
                <HealthPanel frame={hud.frame} />
                <EventFeed events={hud.events} />
              </div>
            </div>
          </main>
        </ControlProvider>
      )}
    </div>
  );
}
