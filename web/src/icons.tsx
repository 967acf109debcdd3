// Small inline icons (24×24 strokes), so the page needs no icon font or image request.
import type { SVGProps } from 'react';

type IconProps = SVGProps<SVGSVGElement> & { size?: number };

function icon(paths: string[]) {
  return function Icon({ size = 18, ...props }: IconProps) {
    return (
      <svg
        width={size}
        height={size}
        viewBox="0 0 24 24"
        fill="none"
        stroke="currentColor"
        strokeWidth={2}
        strokeLinecap="round"
        strokeLinejoin="round"
        aria-hidden="true"
        focusable="false"
        {...props}
      >
        {paths.map(d => (
          <path key={d} d={d} />
        ))}
      </svg>
    );
  };
}

export const MenuIcon = icon(['M4 6h16', 'M4 12h16', 'M4 18h16']);
export const PlusIcon = icon(['M12 5v14', 'M5 12h14']);
export const SendIcon = icon(['M5 12h14', 'M13 6l6 6-6 6']);
export const StopIcon = icon(['M7 7h10v10H7z']);
export const CopyIcon = icon(['M9 9h11v11H9z', 'M5 15H4V4h11v1']);
export const CheckIcon = icon(['M5 12.5l4.5 4.5L19 7.5']);
export const ExternalIcon = icon(['M14 4h6v6', 'M20 4l-9 9', 'M18 14v6H4V6h6']);
export const SunIcon = icon([
  'M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10z',
  'M12 1v2',
  'M12 21v2',
  'M4.2 4.2l1.4 1.4',
  'M18.4 18.4l1.4 1.4',
  'M1 12h2',
  'M21 12h2',
  'M4.2 19.8l1.4-1.4',
  'M18.4 5.6l1.4-1.4',
]);
export const MoonIcon = icon(['M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z']);
export const WalletIcon = icon(['M3 7h18v12H3z', 'M3 7l13-4v4', 'M16 13h2']);
export const ChevronIcon = icon(['M6 9l6 6 6-6']);
export const CloseIcon = icon(['M6 6l12 12', 'M18 6L6 18']);
export const AlertIcon = icon(['M12 3l10 18H2z', 'M12 10v4', 'M12 17.5v.5']);
export const SearchIcon = icon(['M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z', 'M21 21l-5-5']);
export const EditIcon = icon(['M4 20h4L19 9l-4-4L4 16z', 'M14 6l4 4']);
export const TrashIcon = icon(['M4 7h16', 'M10 11v6', 'M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3']);
export const ToolIcon = icon(['M14.7 6.3a4 4 0 0 0-5.4 5.4L3 18l3 3 6.3-6.3a4 4 0 0 0 5.4-5.4l-2.6 2.6-2.4-.6-.6-2.4z']);
export const ClockIcon = icon(['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M12 7v5l3 2']);
export const RefreshIcon = icon(['M20 11a8 8 0 0 0-14.9-3', 'M4 4v4h4', 'M4 13a8 8 0 0 0 14.9 3', 'M20 20v-4h-4']);
export const ShieldIcon = icon(['M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z']);

/** A spinning ring for work in progress. */
export function Spinner({ size = 16, label }: { size?: number; label?: string }) {
  return (
    <span className="spinner" style={{ width: size, height: size }} role={label ? 'status' : undefined}>
      {label ? <span className="sr-only">{label}</span> : null}
    </span>
  );
}

/** The aomi mark. */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true">
      <defs>
        <linearGradient id="aomi-logo" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#7c5cff" />
          <stop offset="1" stopColor="#22d3ee" />
        </linearGradient>
      </defs>
      <rect width="32" height="32" rx="9" fill="url(#aomi-logo)" />
      <path
        d="M10 22.5 16 9l6 13.5M12.3 17.6h7.4"
        fill="none"
        stroke="#fff"
        strokeWidth="2.6"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}
