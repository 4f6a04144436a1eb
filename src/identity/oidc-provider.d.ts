// oidc-provider 9 ships no type declarations; Airclutch uses it only inside the dev IdP.
declare module 'oidc-provider' {
  // biome-ignore lint/suspicious/noExplicitAny: untyped third-party module, confined to dev-idp*.ts
  const Provider: any;
  export default Provider;
}
