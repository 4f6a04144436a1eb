// oidc-provider 9 ships no type declarations; Airclutch uses it only inside the dev IdP.
declare module 'oidc-provider' {
  const Provider: any;
  export default Provider;
}
