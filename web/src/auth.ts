import { signal } from '@preact/signals';

const STORAGE_KEY = 'keyrelay.adminToken';

/** The admin token lives in sessionStorage only: it dies with the tab. */
export const adminToken = signal<string | null>(sessionStorage.getItem(STORAGE_KEY));

export function signIn(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
  adminToken.value = token;
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  adminToken.value = null;
}
