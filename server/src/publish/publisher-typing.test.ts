import type { Publisher } from './publisher';

/** Compiled by `npm run typecheck` (inside `npm test`): each @ts-expect-error must be a real error. */
function typeChecks(publisher: Publisher): void {
  void publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_1', amountCents: 1 }, { idempotencyKey: 'k' });
  void publisher.to('acme', 'tickets').emit('ticket.updated', { ticketId: 't', status: 'closed' });
  // @ts-expect-error a missing field
  void publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_1' });
  // @ts-expect-error a field of the wrong type
  void publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_1', amountCents: '1' });
  // @ts-expect-error a status outside the enum
  void publisher.to('acme', 'tickets').emit('ticket.updated', { ticketId: 't', status: 'reopened' });
  // @ts-expect-error an event type of another service
  void publisher.to('acme', 'billing').emit('ticket.updated', { ticketId: 't', status: 'open' });
  // @ts-expect-error a service outside the catalog
  void publisher.to('acme', 'payroll');
  void publisher.emitMany([
    { org: 'acme', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 1 } },
    { org: 'acme', service: 'tickets', type: 'ticket.updated', data: { ticketId: 't', status: 'open' }, idempotencyKey: 'k' },
  ]);
  // @ts-expect-error emitMany: the data of another type of the service
  void publisher.emitMany([{ org: 'acme', service: 'billing', type: 'invoice.paid', data: { ticketId: 't', status: 'open' } }]);
  // @ts-expect-error emitMany: a type of another service
  void publisher.emitMany([{ org: 'acme', service: 'billing', type: 'ticket.updated', data: { ticketId: 't', status: 'open' } }]);
}

test('publisher emits are typed from the catalog (checked by the type checker)', () => {
  expect(typeChecks).toBeInstanceOf(Function);
});
