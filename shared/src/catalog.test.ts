import { z } from 'zod';
import { catalog, defineEvents, event, findEvent, isVolatile, type EventData } from './catalog';
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
