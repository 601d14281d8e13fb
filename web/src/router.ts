import { signal } from '@preact/signals';

/** The page URL; pushState/popstate keep it in step, so reload and back/forward work. */
export const route = signal(new URL(location.href));

window.addEventListener('popstate', () => (route.value = new URL(location.href)));

export function navigate(href: string, replace = false): void {
  const url = new URL(href, location.href);
  if (url.href === location.href) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.value = url;
}

/** Sets one query parameter of the current page (filters, the selected upstream). */
export function setParam(name: string, value: string | null): void {
  const url = new URL(location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  navigate(url.toString(), true);
}

/** A click on an in-app link: plain left clicks navigate without a reload. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.href);
}
