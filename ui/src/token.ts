// Where the API token is kept between visits. "Remember on this computer" keeps it in
// localStorage, so that it is entered once and a link opened in a new tab works; otherwise it
// is in sessionStorage and gone when the tab closes (a shared machine). Either is readable by
// script on this origin only: the dashboard runs no script but its own (the
// Content-Security-Policy allows nothing else) and renders event bodies as text, never as HTML.
const KEY = 'hookyard.token';

function tryStorage(pick: () => Storage): Storage | undefined {
  try {
    return pick();
  } catch {
    return undefined; // storage disabled: the token lives only as long as the page
  }
}

const local = () => tryStorage(() => window.localStorage);
const session = () => tryStorage(() => window.sessionStorage);

export function loadToken(): string {
  return session()?.getItem(KEY) ?? local()?.getItem(KEY) ?? '';
}

export function saveToken(token: string, remember: boolean): void {
  clearToken();
  (remember ? local() : session())?.setItem(KEY, token);
}

export function clearToken(): void {
  local()?.removeItem(KEY);
  session()?.removeItem(KEY);
}
