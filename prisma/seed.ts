// `npm run db:seed`: the demo sale of `npm start`. Written to PostgreSQL only — PostgreSQL is
// the truth; a server finds a sale without hot state and rebuilds it into Redis
// (docs/architecture.md#when-a-rebuild-starts).
import { createPrisma } from '@surge/db';

const DAY = 24 * 60 * 60 * 1000;
const prisma = createPrisma(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/surge');
try {
  const existing = await prisma.sale.findUnique({ where: { id: 'demo' } });
  if (existing && existing.endsAt.getTime() > Date.now()) {
    console.log(`[surge] demo sale exists (ends ${existing.endsAt.toISOString()})`);
  } else if (existing) {
    console.log('[surge] the demo sale has ended; create a new one from the HUD');
  } else {
    const now = Date.now();
    await prisma.sale.create({
      data: {
        id: 'demo',
        name: 'Surge Runner — Launch Edition',
        priceCents: 12_900,
        totalStock: 500,
        perUserLimit: 2,
        startsAt: new Date(now),
        endsAt: new Date(now + 7 * DAY),
      },
    });
    console.log('[surge] created the demo sale "demo" (500 pairs, 2 per shopper, 7 days)');
  }
} finally {
  await prisma.$disconnect();
}
