/** The pages and their addresses. These paths are the links Slack messages and the CLI print. */
import type { QueryClient } from '@tanstack/react-query';
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
} from '@tanstack/react-router';
import { Layout } from './layout.tsx';
import { DagsPage } from './pages/dags-page.tsx';

/** The DAG list's filters, kept in the address so a filtered view can be shared. */
export interface DagsSearch {
  q?: string;
  env?: string;
  access?: string;
}

const root = createRootRouteWithContext<{ queryClient: QueryClient }>()({ component: Layout });

const dags = createRoute({
  getParentRoute: () => root,
  path: '/',
  component: DagsPage,
  validateSearch: (s: Record<string, unknown>): DagsSearch => ({
    ...(typeof s.q === 'string' ? { q: s.q } : {}),
    ...(typeof s.env === 'string' ? { env: s.env } : {}),
    ...(typeof s.access === 'string' ? { access: s.access } : {}),
  }),
});

export const dagRoute = createRoute({
  getParentRoute: () => root,
  path: '/dags/$env/$dagId',
  component: lazyRouteComponent(() => import('./pages/dag-page.tsx'), 'DagPage'),
});

export const runRoute = createRoute({
  getParentRoute: () => root,
  path: '/runs/$runId',
  component: lazyRouteComponent(() => import('./pages/run-page.tsx'), 'RunPage'),
});

const approvals = createRoute({
  getParentRoute: () => root,
  path: '/approvals',
  component: lazyRouteComponent(() => import('./pages/approvals-page.tsx'), 'ApprovalsPage'),
});

/** One approval request: the link Slack messages and the CLI print for it. */
export const approvalRoute = createRoute({
  getParentRoute: () => root,
  path: '/approvals/$approvalId',
  component: lazyRouteComponent(() => import('./pages/approval-page.tsx'), 'ApprovalPage'),
});

const audit = createRoute({
  getParentRoute: () => root,
  path: '/audit',
  component: lazyRouteComponent(() => import('./pages/audit-page.tsx'), 'AuditPage'),
});

const policies = createRoute({
  getParentRoute: () => root,
  path: '/policies',
  component: lazyRouteComponent(() => import('./pages/policies-page.tsx'), 'PoliciesPage'),
});

const routeTree = root.addChildren([dags, dagRoute, runRoute, approvals, approvalRoute, audit, policies]);

export const router = createRouter({
  routeTree,
  context: { queryClient: undefined as unknown as QueryClient },
  defaultPreload: 'intent',
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
