import { createClient } from './create-client';

test('handlers are typed from the catalog, and wrong services, types or fields do not compile', () => {
  // Never connects: the url points at a closed port and the client is closed at once.
  const client = createClient({ url: 'http://127.0.0.1:9', token: 't', services: ['billing'], transports: ['websocket'] });
  const seen: number[] = [];
  client.on('billing', 'invoice.paid', (data, envelope) => {
    seen.push(data.amountCents);
    const service: 'billing' = envelope.service;
    void service;
    // @ts-expect-error no such field on invoice.paid
    void data.status;
  });
  client.on('tickets', 'ticket.updated', (data) => {
    const status: 'open' | 'pending' | 'closed' = data.status;
    void status;
  });
  // @ts-expect-error no such event type in billing
  client.on('billing', 'ticket.updated', () => undefined);
  // @ts-expect-error no such service
  client.on('payroll', 'x', () => undefined);
  // @ts-expect-error services come from the catalog
  createClient({ url: 'http://127.0.0.1:9', token: 't', services: ['payroll'] }).close();
  client.close();
  expect(client.state).toBe('disconnected');
  expect(seen).toEqual([]);
});

test('publish accepts only client-publishable types of a service, with their data type', async () => {
  const client = createClient({ url: 'http://127.0.0.1:9', token: 't', transports: ['websocket'] });
  const sending = (): Promise<unknown>[] => [
    client.publish('presence', 'user.typing', { userId: 'u_7' }),
    // @ts-expect-error billing has no type clients may send
    client.publish('billing', 'invoice.paid', { invoiceId: 'in_1', amountCents: 1 }),
    // @ts-expect-error wrong field for user.typing
    client.publish('presence', 'user.typing', { user: 'u_7' }),
    // @ts-expect-error no such type
    client.publish('presence', 'user.left', { userId: 'u_7' }),
  ];
  client.close();
  // Closed: every call rejects at once, with RW_ERR_CLOSED.
  const outcomes = await Promise.allSettled(sending());
  expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : 'sent'))).toEqual(['RW_ERR_CLOSED', 'RW_ERR_CLOSED', 'RW_ERR_CLOSED', 'RW_ERR_CLOSED']);
});
