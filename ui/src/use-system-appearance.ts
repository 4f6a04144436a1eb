/** Light or dark, following the system setting, and changing when it changes. */
import { useSyncExternalStore } from 'react';

const query = () => window.matchMedia('(prefers-color-scheme: dark)');

export function useSystemAppearance(): 'light' | 'dark' {
  return useSyncExternalStore(
    (onChange) => {
      const q = query();
      q.addEventListener('change', onChange);
      return () => q.removeEventListener('change', onChange);
    },
    () => (query().matches ? 'dark' : 'light'),
  );
}
