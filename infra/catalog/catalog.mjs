// The event catalog the containers load (ROOMWIRE_CATALOG=/app/catalog/catalog.mjs): replace it with
// yours. compose.yaml mounts this folder at /app/catalog; on Kubernetes, k8s/catalog-configmap.yaml
// holds a copy of this file (test/infra-manifests.test.ts keeps the two equal). It lives under /app
// in the container so that its imports, @roomwire/shared and zod, resolve from the image's
// node_modules; import nothing else. Every publisher must use the same catalog.
import { defineEvents, event } from '@roomwire/shared';
import { z } from 'zod';

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
