// Thumbnails of stored photos: decoded once, scaled down on a canvas, kept for the session.
import { api } from './api';

const cache = new Map<string, Promise<string>>();
const SIZE = 192;

async function make(hash: string): Promise<string> {
  const blob = await api.photo(hash);
  try {
    const bmp = await createImageBitmap(blob);
    const scale = Math.min(1, SIZE / Math.max(bmp.width, bmp.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bmp.width * scale));
    canvas.height = Math.max(1, Math.round(bmp.height * scale));
    canvas.getContext('2d')?.drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    const small = await new Promise<Blob | null>((res) => canvas.toBlob(res, 'image/jpeg', 0.8));
    return URL.createObjectURL(small ?? blob);
  } catch {
    return URL.createObjectURL(blob);
  }
}

export function thumbnail(hash: string): Promise<string> {
  let p = cache.get(hash);
  if (!p) {
    p = make(hash);
    cache.set(hash, p);
    p.catch(() => cache.delete(hash));
  }
  return p;
}
