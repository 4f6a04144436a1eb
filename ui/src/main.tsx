/** The Airclutch web UI: a React app over the HTTP API, signed in with the person's session. */
import '@radix-ui/themes/styles.css';
import './app.css';
import { Theme } from '@radix-ui/themes';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api.ts';
import { router } from './router.tsx';
import { useSystemAppearance } from './use-system-appearance.ts';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Refusals and missing things do not get better by asking again.
      retry: (count, e) => !(e instanceof ApiError && e.status < 500) && count < 2,
      staleTime: 5_000,
      refetchOnWindowFocus: false,
    },
  },
});

function App() {
  const appearance = useSystemAppearance();
  return (
    <Theme appearance={appearance} accentColor="indigo" grayColor="slate" radius="medium">
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} context={{ queryClient }} />
      </QueryClientProvider>
    </Theme>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
