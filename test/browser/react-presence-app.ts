// The React presence/history page: usePresence and useHistory of billing, rendered as text the test
// reads. Imported from sources and bundled with React by the test.
import { createElement, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient } from '../../client/src';
import { RealtimeProvider, useHistory, usePresence, type RealtimeProviderProps } from '@roomwire/client/react';

interface PageGlobals {
  __loadMore(): void;
}
const page = window as unknown as PageGlobals;
const params = new URLSearchParams(location.search);
const token = params.get('token') ?? '';
const client = createClient({ url: params.get('url') ?? '', token: () => token });

function Online(): ReactNode {
  const { presence, error } = usePresence('billing');
  const users = presence?.map((m) => `${m.userId}:${m.connections}`).sort() ?? [];
  // The list's shape besides its members, for the test to read: a real array, and its totals.
  const shape = presence === null ? 'none' : `array=${Array.isArray(presence)} users=${presence.users} connections=${presence.connections} countsOnly=${presence.countsOnly}`;
  return createElement('p', { id: 'online', 'data-shape': shape }, error ? `error ${error.code}` : presence === null ? 'loading' : users.join(','));
}

function Recent(): ReactNode {
  const { events, hasMore, loadMore } = useHistory('billing', { limit: 2 });
  page.__loadMore = loadMore;
  return createElement(
    'ul',
    { id: 'recent', 'data-more': String(hasMore) },
    ...events.map((e) => createElement('li', { key: e.id }, (e.data as { invoiceId: string }).invoiceId)),
  );
}

// The provider for the example catalog (what createClient is typed from here).
const Provider = RealtimeProvider as (props: RealtimeProviderProps) => ReactNode;
createRoot(document.getElementById('root') as HTMLElement).render(createElement(Provider, { client }, createElement(Online), createElement(Recent)));
