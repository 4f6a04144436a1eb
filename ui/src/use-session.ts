/** Who is signed in: the session of `/auth/session`, whose CSRF token then rides on every state-changing call. */
import { useQuery } from '@tanstack/react-query';
import { ApiError, api, type Session, setCsrfToken } from './api.ts';

export function useSession() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await api<Session>('/auth/session');
        setCsrfToken(s.csrfToken);
        return s;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

/** `/auth/login` with a way back to where the person was. */
export function signInHref(): string {
  const here = `${window.location.pathname}${window.location.search}`;
  return `/auth/login?returnTo=${encodeURIComponent(here)}`;
}
