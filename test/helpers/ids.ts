// Cloudflare account ids as the configuration requires them (32 lowercase hex characters), for
// tests that need an account the simulator does not make.
export const ACCOUNT = '0123456789abcdef0123456789abcdef';
export const ACCOUNT_2 = 'fedcba9876543210fedcba9876543210';
