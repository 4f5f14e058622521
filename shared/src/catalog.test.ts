import { z } from 'zod';
import { catalog, defineEvents, event, findEvent, isClientPublishable, isVolatile, type ClientEventType, type ClientPublishService, type EventData } from './catalog';
import { ERROR_CODES, RoomwireError, isErrorCode, isRetryable } from './codes';

test('the example catalog has the documented events and delivery classes', () => {
  expect(Object.keys(catalog)).toEqual(['billing', 'tickets', 'presence']);
  const paid = findEvent(catalog, 'billing', 'invoice.paid');
  expect(paid?.schema.safeParse({ invoiceId: 'in_1', amountCents: 0 }).success).toBe(true);
  expect(paid?.schema.safeParse({ invoiceId: 'in_1', amountCents: -1 }).success).toBe(false);
  expect(paid?.schema.safeParse({ invoiceId: 'in_1', amountCents: 1.5 }).success).toBe(false);
  const updated = findEvent(catalog, 'tickets', 'ticket.updated');
  expect(updated?.schema.safeParse({ ticketId: 't', status: 'pending' }).success).toBe(true);
  expect(updated?.schema.safeParse({ ticketId: 't', status: 'reopened' }).success).toBe(false);
  const typing = findEvent(catalog, 'presence', 'user.typing');
  expect(typing && isVolatile(typing)).toBe(true);
  expect(paid && isVolatile(paid)).toBe(false);
});

test('lookups do not reach into the prototype chain', () => {
  expect(findEvent(catalog, 'billing', 'toString')).toBeUndefined();
  expect(findEvent(catalog, '__proto__', 'constructor')).toBeUndefined();
  expect(findEvent(catalog, 'payroll', 'x')).toBeUndefined();
});

test('payload types are inferred from the schemas', () => {
  const custom = defineEvents({ orders: { 'order.created': event(z.object({ orderId: z.string(), total: z.number() })) } });
  const data: EventData<typeof custom, 'orders', 'order.created'> = { orderId: 'o1', total: 3 };
  // @ts-expect-error a wrong payload type does not compile
  const wrong: EventData<typeof custom, 'orders', 'order.created'> = { orderId: 1, total: 3 };
  expect(custom.orders['order.created'].schema.safeParse(data).success).toBe(true);
  expect(custom.orders['order.created'].schema.safeParse(wrong).success).toBe(false);
});

test('error codes: every code has a status and a retry flag, and errors carry them', () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    expect(code).toMatch(/^RW_ERR_[A-Z_]+$/);
    expect(info.httpStatus).toBeGreaterThanOrEqual(400);
    expect(typeof info.retryable).toBe('boolean');
  }
  expect(isRetryable('RW_ERR_UNAVAILABLE')).toBe(true);
  expect(isRetryable('RW_ERR_FORBIDDEN')).toBe(false);
  expect(isErrorCode('RW_ERR_SLOW_CONSUMER')).toBe(true);
  expect(isErrorCode('toString')).toBe(false);
  const err = new RoomwireError('RW_ERR_DRAINING', 'bye');
  expect(err).toBeInstanceOf(Error);
  expect(err.retryable).toBe(true);
  expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'RW_ERR_DRAINING', message: 'bye' });
});

test('clientPublish marks the types clients may send, at run time and in the types', () => {
  const typing = findEvent(catalog, 'presence', 'user.typing');
  const paid = findEvent(catalog, 'billing', 'invoice.paid');
  expect(typing && isClientPublishable(typing)).toBe(true);
  expect(paid && isClientPublishable(paid)).toBe(false);
  // A definition written without the option (an older catalog module) is not client-publishable.
  expect(isClientPublishable({ schema: z.object({}), volatile: false })).toBe(false);

  const custom = defineEvents({
    chat: { 'message.posted': event(z.object({ text: z.string() }), { clientPublish: true }), 'message.deleted': event(z.object({ id: z.string() })) },
    billing: { 'invoice.paid': event(z.object({ invoiceId: z.string() })) },
  });
  const sendable: ClientEventType<typeof custom, 'chat'> = 'message.posted';
  // @ts-expect-error a type of the service that clients may not send
  const notSendable: ClientEventType<typeof custom, 'chat'> = 'message.deleted';
  const service: ClientPublishService<typeof custom> = 'chat';
  // @ts-expect-error a service with no client-publishable type
  const noService: ClientPublishService<typeof custom> = 'billing';
  expect([sendable, notSendable, service, noService]).toHaveLength(4);
  expect(isClientPublishable(custom.chat['message.posted'])).toBe(true);
  expect(isClientPublishable(custom.chat['message.deleted'])).toBe(false);
});
