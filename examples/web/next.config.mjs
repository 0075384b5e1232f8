/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The API serves the images; the proxy route under /files streams them, so next/image's optimizer is not used.
  images: { unoptimized: true },
};

export default nextConfig;
