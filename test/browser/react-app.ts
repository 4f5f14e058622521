// The React test page: two components listen to billing through useRealtimeEvent; the test mounts
// and unmounts them. Imported from sources and bundled with React by the test.
import { createElement, useState, type ReactNode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import { createClient } from '../../client/src';
import { RealtimeProvider, useRealtimeEvent, useRealtimeStatus } from '@roomwire/client/react';

interface PageGlobals {
  __calls: Record<string, string[]>;
  __mount(names: string[]): void;
  __client: ReturnType<typeof createClient>;
}
const page = window as unknown as PageGlobals;
const params = new URLSearchParams(location.search);
const token = params.get('token') ?? '';

page.__calls = {};
page.__client = createClient({ url: params.get('url') ?? '', token: () => token, exposeGlobal: true });

function Invoices(props: { name: string }): ReactNode {
  const [paid, setPaid] = useState<string[]>([]);
  useRealtimeEvent('billing', 'invoice.paid', (data, envelope) => {
    // Typed from the catalog: these compile, and a field invoice.paid does not have would not.
    const invoiceId: string = data.invoiceId;
    const amountCents: number = data.amountCents;
    const service: 'billing' = envelope.service;
    // @ts-expect-error invoice.paid has no status
    void data.status;
    void service;
    (page.__calls[props.name] ??= []).push(envelope.id);
    setPaid((list) => [...list, `${invoiceId}:${amountCents}`]);
  });
  return createElement('ul', { id: `paid-${props.name}` }, ...paid.map((line) => createElement('li', { key: line }, line)));
}

function Status(): ReactNode {
  const { state, metrics } = useRealtimeStatus(50);
  return createElement('p', { id: 'status' }, `${state} ${metrics.eventsReceived}`);
}

const root: Root = createRoot(document.getElementById('root') as HTMLElement);
// root.render only schedules the update; flushSync commits it (and runs the unmounted components'
// effect cleanups) before __mount returns, so an event the test publishes next meets the new tree.
page.__mount = (names) =>
  flushSync(() =>
    root.render(
      createElement(RealtimeProvider, { client: page.__client }, createElement(Status), ...names.map((name) => createElement(Invoices, { key: name, name }))),
    ),
  );
page.__mount(['a', 'b']);

// Wrong services and types do not compile either.
export function neverCalled(): void {
  // @ts-expect-error no such service in the catalog
  useRealtimeEvent('payroll', 'x', () => undefined);
  // @ts-expect-error ticket.updated is not a billing event
  useRealtimeEvent('billing', 'ticket.updated', () => undefined);
}
