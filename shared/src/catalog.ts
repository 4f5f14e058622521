import { z } from 'zod';

/** One event type of a service: its payload schema and its delivery class. */
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  /** Validates the payload (`data`) of the event; published payloads that fail are refused. */
  readonly schema: S;
  /**
   * Volatile events (typing, cursors, presence pings) may be dropped for sockets under pressure and
   * are never replayed on recovery. Durable events (the default) are never dropped by the server.
   * @default false
   */
  readonly volatile: boolean;
  /**
   * Clients may send this type themselves (`client.publish`), when their token's `publish` claim
   * grants the service. Events are published by backends only otherwise.
   * @default false
   */
  readonly clientPublish?: boolean;
}

/** An event type that clients may send (declared with `event(schema, { clientPublish: true })`). */
export interface ClientEventDefinition<S extends z.ZodType = z.ZodType> extends EventDefinition<S> {
  readonly clientPublish: true;
}

/** Options of {@link event}. */
export interface EventOptions {
  /** Dropped under pressure and never replayed (typing, cursors, presence pings). @default false */
  volatile?: boolean;
  /** Clients whose token grants the service may send this type (`client.publish`). @default false */
  clientPublish?: boolean;
}

/** A catalog: service name → event type → definition. */
export type CatalogDefinition = { readonly [service: string]: { readonly [type: string]: EventDefinition } };

/** Service names of a catalog. */
export type ServiceName<C extends CatalogDefinition> = Extract<keyof C, string>;
/** Event types of one service of a catalog. */
export type EventType<C extends CatalogDefinition, S extends ServiceName<C>> = Extract<keyof C[S], string>;
/** The payload type of one event type, inferred from its schema. */
export type EventData<
  C extends CatalogDefinition,
  S extends ServiceName<C>,
  T extends EventType<C, S>,
> = C[S][T] extends EventDefinition<infer Schema> ? z.infer<Schema> : never;

/** The event types of one service that clients may send (declared with `clientPublish: true`). */
export type ClientEventType<C extends CatalogDefinition, S extends ServiceName<C>> = {
  [T in EventType<C, S>]: C[S][T] extends { readonly clientPublish: true } ? T : never;
}[EventType<C, S>];

/** The services of a catalog with at least one type that clients may send. */
export type ClientPublishService<C extends CatalogDefinition> = {
  [S in ServiceName<C>]: [ClientEventType<C, S>] extends [never] ? never : S;
}[ServiceName<C>];

/**
 * Declares one event type.
 *
 * @example
 * const paid = event(z.object({ invoiceId: z.string() }));
 * const typing = event(z.object({ userId: z.string() }), { volatile: true, clientPublish: true });
 */
export function event<S extends z.ZodType>(schema: S, options: EventOptions & { clientPublish: true }): ClientEventDefinition<S>;
export function event<S extends z.ZodType>(schema: S, options?: EventOptions): EventDefinition<S>;
export function event<S extends z.ZodType>(schema: S, options: EventOptions = {}): EventDefinition<S> {
  return { schema, volatile: options.volatile ?? false, clientPublish: options.clientPublish ?? false };
}

/**
 * Declares an event catalog; the identity function that keeps the literal types.
 *
 * @example
 * export const catalog = defineEvents({
 *   billing: { 'invoice.paid': event(z.object({ invoiceId: z.string() })) },
 * });
 */
export function defineEvents<const C extends CatalogDefinition>(definition: C): C {
  return definition;
}

/** Looks an event type up in a catalog; `undefined` when the service or the type is unknown. */
export function findEvent(catalog: CatalogDefinition, service: string, type: string): EventDefinition | undefined {
  if (!Object.prototype.hasOwnProperty.call(catalog, service)) return undefined;
  const events = catalog[service];
  if (events === undefined || !Object.prototype.hasOwnProperty.call(events, type)) return undefined;
  return events[type];
}

/** Why: volatile events skip the replay stream and may be dropped under pressure. */
export function isVolatile(definition: EventDefinition): boolean {
  return definition.volatile;
}

/** Why: clients may send only the types the catalog marks; everything else comes from trusted backends. */
export function isClientPublishable(definition: EventDefinition): boolean {
  return definition.clientPublish === true;
}

/**
 * The example catalog that ships with Roomwire. Replace it with your own; the tests use this one.
 */
export const catalog = defineEvents({
  billing: {
    'invoice.paid': event(z.object({ invoiceId: z.string().min(1), amountCents: z.number().int().nonnegative() })),
  },
  tickets: {
    'ticket.updated': event(z.object({ ticketId: z.string().min(1), status: z.enum(['open', 'pending', 'closed']) })),
  },
  presence: {
    'user.typing': event(z.object({ userId: z.string().min(1) }), { volatile: true, clientPublish: true }),
  },
});

/** The type of the example catalog; the default type parameter of the client and the publisher. */
export type Catalog = typeof catalog;
