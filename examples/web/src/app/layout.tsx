import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { Providers } from '@/components/Providers';
import { SignOutButton } from '@/components/Viewer';
import { hasSessionCookie } from '@/lib/bearer';
import './globals.css';

export const metadata: Metadata = { title: 'Imagegen', description: 'Generate images with your credits' };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const signedIn = await hasSessionCookie();
  return (
    <html lang="en">
      <body>
        <header className="top">
          <Link href="/" className="brand">
            Imagegen
          </Link>
          <nav>
            <Link href="/generate">Generate</Link>
            <Link href="/history">History</Link>
            <Link href="/pricing">Pricing</Link>
            <Link href="/account">Account</Link>
            <Link href="/admin">Admin</Link>
            {signedIn ? <SignOutButton /> : <Link href="/sign-in">Sign in</Link>}
          </nav>
        </header>
        <main>
          <Providers>{children}</Providers>
        </main>
      </body>
    </html>
  );
}
