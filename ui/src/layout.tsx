/** The frame of every page: navigation, who is signed in, and the sign-in screen when nobody is. */
import { Badge, Box, Button, Container, Flex, Heading, Link as RLink, Spinner, Text } from '@radix-ui/themes';
import { Link, Outlet } from '@tanstack/react-router';
import { ErrorCallout } from './components/error-callout.tsx';
import { When } from './components/when.tsx';
import { signInHref, useSession } from './use-session.ts';

const NAV = [
  { to: '/', label: 'DAGs' },
  { to: '/approvals', label: 'Approvals' },
  { to: '/audit', label: 'Audit' },
  { to: '/policies', label: 'Policies' },
] as const;

export function Layout() {
  const session = useSession();
  return (
    <Box className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Flex align="center" gap="5" px="4" py="2" wrap="wrap">
          <Heading as="h1" size="4">
            <Link to="/" className="brand">
              Airclutch
            </Link>
          </Heading>
          {session.data && (
            <nav aria-label="Main">
              <Flex gap="4">
                {NAV.map((n) => (
                  <Link key={n.to} to={n.to} className="nav-link" activeOptions={{ exact: n.to === '/' }}>
                    {n.label}
                  </Link>
                ))}
              </Flex>
            </nav>
          )}
          <Box flexGrow="1" />
          {session.data && <Identity session={session.data} />}
        </Flex>
      </header>
      <Container size="4" px="4" py="4" asChild>
        <main id="main" tabIndex={-1}>
          {session.isPending ? (
            <Spinner aria-label="Loading" />
          ) : session.error ? (
            <ErrorCallout error={session.error} />
          ) : session.data ? (
            <Outlet />
          ) : (
            <SignIn />
          )}
        </main>
      </Container>
    </Box>
  );
}

function Identity({ session }: { session: NonNullable<ReturnType<typeof useSession>['data']> }) {
  const { principal } = session;
  return (
    <Flex align="center" gap="3" wrap="wrap" data-testid="identity">
      <Text size="2">
        <Text weight="bold">{principal.displayName ?? principal.id}</Text>{' '}
        <Text color="gray">({principal.id})</Text>
      </Text>
      {principal.groups.map((g) => (
        <Badge key={g} variant="soft" color="gray">
          {g}
        </Badge>
      ))}
      <Text size="1" color="gray">
        session ends <When ms={session.expiresAt} />
      </Text>
      <form method="post" action="/auth/logout">
        <input type="hidden" name="_csrf" value={session.csrfToken} />
        <Button type="submit" size="1" variant="soft">
          Sign out
        </Button>
      </form>
    </Flex>
  );
}

function SignIn() {
  return (
    <Flex direction="column" gap="3" align="start" py="9">
      <Heading as="h2" size="6">
        Sign in to Airclutch
      </Heading>
      <Text as="p" color="gray">
        You are not signed in, or your session ended. Sign in with your organisation's identity provider; what
        you can see and do is decided by policy for who you are.
      </Text>
      <Button asChild size="3">
        <a href={signInHref()}>Sign in</a>
      </Button>
      <Text size="1" color="gray">
        Scripts and the CLI use the API under <RLink href="/docs">/api/v1</RLink> with a bearer token instead.
      </Text>
    </Flex>
  );
}
