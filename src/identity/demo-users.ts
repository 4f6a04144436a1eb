/** The demo people of the embedded dev IdP: one per role the policies usually name. @module */

/** An engineer, two data leads who approve, and an admin. */
export const DEMO_USERS = [
  { email: 'eng@example.com', name: 'Eve Engineer', groups: ['data-eng'] },
  { email: 'lead@example.com', name: 'Lena Lead', groups: ['data-leads'] },
  { email: 'lead2@example.com', name: 'Liam Lead', groups: ['data-leads'] },
  { email: 'admin@example.com', name: 'Ada Admin', groups: ['admins'] },
];

/** The dev IdP's client-credentials service client. Its secret is public on purpose: dev mode only. */
export const DEV_SERVICE_CLIENT = { clientId: 'ci-bot', clientSecret: 'ci-bot-dev-secret' } as const;
