import '@fontsource/orbitron/600.css';
import '@fontsource/orbitron/800.css';
import '@fontsource/jetbrains-mono/400.css';
import '@fontsource/jetbrains-mono/600.css';
import './styles/base.css';
import './styles/hud.css';
import './styles/waiting-room.css';
import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { applyTheme, storedTheme } from './lib/theme.ts';
import { queryClient } from './lib/trpc.ts';
import { AdminPage } from './routes/admin-page.tsx';
import { ShopPage } from './routes/shop-page.tsx';

// Before the first render (no inline script under the CSP): the page never flashes the wrong theme.
applyTheme(storedTheme());

const admin = location.pathname.replace(/\/+$/, '') === '/admin';
document.title = admin ? 'Surge · Control center' : 'Surge · Flash sale';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>{admin ? <AdminPage /> : <ShopPage />}</QueryClientProvider>
    </StrictMode>,
  );
}
